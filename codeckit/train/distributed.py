"""Process-group setup under torchrun (gloo on CPU, NCCL on GPU) and small collective helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from codeckit.errors import ConfigError


@dataclass
class DistInfo:
    """Where this process runs: its rank, the world size, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` picks CUDA when available; `cuda` under torchrun means this process's local GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{name}' requested but CUDA is not available; use --device cpu")
        return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
    if name != "cpu":
        raise ConfigError(f"unknown device '{name}' (use cpu, cuda, cuda:N or auto)")
    return torch.device("cpu")


def env_rank() -> tuple[int, int, int]:
    """(rank, world size, local rank) from the launcher's RANK / WORLD_SIZE / LOCAL_RANK (torchrun sets them);
    (0, 1, 0) without them. Training and corpus tokenization both read them here."""
    values = {}
    for key, default in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0")):
        text = os.environ.get(key, default)
        try:
            values[key] = int(text)
        except ValueError:
            raise ConfigError(f"environment variable {key}={text!r} is not an integer") from None
    rank, world, local_rank = values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"]
    if world < 1 or not 0 <= rank < world or local_rank < 0:
        raise ConfigError(f"RANK={rank} and WORLD_SIZE={world} do not fit (need 0 <= RANK < WORLD_SIZE)")
    return rank, world, local_rank


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the torchrun process group when WORLD_SIZE > 1, else run as a single process."""
    rank, world, local_rank = env_rank()
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return DistInfo(rank, world, local_rank, dev)


def barrier() -> None:
    """Wait for every rank (nothing when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_true(flag: bool, device: torch.device) -> bool:
    """True when `flag` is true on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item() > 0.5)


def all_finite(device: torch.device, *values: torch.Tensor) -> bool:
    """True when every tensor in `values` is finite on every rank: a step is taken everywhere or nowhere."""
    return all_true(all(bool(torch.isfinite(v).all()) for v in values), device)


def gather_objects(obj: Any) -> list[Any]:
    """Every rank's `obj`, in rank order (a one-item list when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def cleanup() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
