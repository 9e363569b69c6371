"""Checkpoints: one safetensors file per saved step under EXP_DIR/checkpoints, written atomically, last K kept.

A checkpoint is a nested state (dicts, lists, tensors, numbers, strings): its tensors are stored under
their path in the tree (`optimizer/state/0/exp_avg`) and the rest of the tree, with each tensor replaced by
a reference to its key, as JSON in the file's metadata. No pickle is written or read. RNG states of python,
numpy and torch are stored as tensors.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from codeckit.errors import CodeckitError
from codeckit.fileio import atomic_path

_NAME = re.compile(r"^step_(\d+)\.safetensors$")
_TREE = "codeckit_checkpoint"  # metadata key of the JSON tree
_TENSOR = "__tensor__"


class CheckpointError(CodeckitError, ValueError):
    """A checkpoint that is missing or does not fit the run resuming from it."""


class UnreadableCheckpointError(CheckpointError):
    """A checkpoint file that cannot be read back (truncated, corrupt, not a codeckit checkpoint)."""


def checkpoint_path(directory: str | Path, step: int) -> Path:
    """Where the checkpoint of `step` lives in `directory` (the names sort by step)."""
    return Path(directory) / f"step_{step:08d}.safetensors"


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in `directory`, oldest first."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def save_checkpoint(directory: str | Path, step: int, state: dict[str, Any], keep: int) -> Path:
    """Write `state` for `step` atomically, then delete all but the newest `keep` checkpoints."""
    path = checkpoint_path(directory, step)
    tensors: dict[str, torch.Tensor] = {}
    tree = _flatten(state, "", tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_TREE: json.dumps(tree)})
    for _, old in list_checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint file back into the nested state `save_checkpoint` was given."""
    return _read(path, lambda tree, f: _unflatten(tree, {k: f.get_tensor(k) for k in f.keys()}))


def check_checkpoint(path: str | Path) -> None:
    """Raise UnreadableCheckpointError unless `path` opens and its tree names only tensors it holds (the
    header and the file's size are checked, the tensor data is not read)."""
    _read(path, _check_tensor_refs)


def _check_tensor_refs(tree: Any, f: Any) -> None:
    missing = _tensor_refs(tree) - set(f.keys())
    if missing:
        raise KeyError(f"tensors {sorted(missing)[:3]} missing")


def _read(path: str | Path, use: Callable[[Any, Any], Any]) -> Any:
    """`use(tree, open safetensors file)`, any failure to read or parse one UnreadableCheckpointError."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return use(json.loads((f.metadata() or {})[_TREE]), f)
    except (OSError, SafetensorError, KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
        raise UnreadableCheckpointError(
            f"cannot read checkpoint {path}: not a codeckit checkpoint or damaged ({e!r})"
        ) from None


def _tensor_refs(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_tensor_refs(v) for v in node)) if node else set()
    if isinstance(node, dict):
        if _TENSOR in node:
            return {node[_TENSOR]}
        if "__tuple__" in node:
            return _tensor_refs(node["__tuple__"])
        return _tensor_refs([v for _, v in node["__dict__"]])
    return set()


def newest_readable_checkpoint(directory: str | Path, log: logging.Logger | None = None) -> Path | None:
    """The newest checkpoint in `directory` that can be read, for `--resume`; None when there is none.

    A damaged newest checkpoint (a crash while the disk lost the file, a copy cut short) is skipped with a
    warning naming it, and the one before is used; if every one is damaged an UnreadableCheckpointError
    names them. Temporary files left by a save that was killed are removed (they are never taken for
    checkpoints: their names do not match).
    """
    d = Path(directory)
    if d.is_dir():
        for stale in d.glob(".step_*.tmp.safetensors"):
            stale.unlink(missing_ok=True)
    log = log or logging.getLogger("codeckit.train")
    found = list_checkpoints(d)
    errors = []
    for step, path in reversed(found):
        try:
            check_checkpoint(path)
        except UnreadableCheckpointError as e:
            errors.append(str(e))
            log.warning("%s; falling back to the checkpoint before it", e)
            continue
        if errors:
            log.warning("resuming from step %d (%s) instead of a damaged newer checkpoint", step, path.name)
        return path
    if errors:
        raise UnreadableCheckpointError(f"every checkpoint in {d} is damaged; newest: {errors[0]}")
    return None


def _flatten(node: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """`node` as JSON-able data, its tensors moved into `tensors` under their path in the tree."""
    if isinstance(node, torch.Tensor):
        if key in tensors:
            raise ValueError(f"two tensors of the checkpoint map to the key '{key}'")
        tensors[key] = node.detach().cpu().contiguous().clone()
        return {_TENSOR: key}
    if isinstance(node, dict):
        if not all(isinstance(k, (str, int)) for k in node):
            raise TypeError(
                f"checkpoint keys must be str or int, found {sorted({type(k).__name__ for k in node})} at '{key}'"
            )
        # [key, value] pairs, not a JSON object, so int keys (optimizer state) come back as ints
        return {"__dict__": [[k, _flatten(v, f"{key}/{k}".lstrip("/"), tensors)] for k, v in node.items()]}
    if isinstance(node, (list, tuple)):
        items = [_flatten(v, f"{key}/{i}".lstrip("/"), tensors) for i, v in enumerate(node)]
        return {"__tuple__": items} if isinstance(node, tuple) else items
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    raise TypeError(f"cannot store {type(node).__name__} in a checkpoint (at '{key}')")


def _unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(node, list):
        return [_unflatten(v, tensors) for v in node]
    if isinstance(node, dict):
        if _TENSOR in node:
            return tensors[node[_TENSOR]]
        if "__tuple__" in node:
            return tuple(_unflatten(v, tensors) for v in node["__tuple__"])
        return {k: _unflatten(v, tensors) for k, v in node["__dict__"]}
    return node


def rng_state() -> dict[str, Any]:
    """This process's python, numpy and torch (and CUDA) RNG states as tensors and numbers."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` saved."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def model_from_checkpoint(config, exp_dir: str | Path, step: int) -> Path:
    """Write EXP_DIR/model_step_<step> (config.yaml + model.safetensors) from that step's checkpoint, so an
    intermediate point of a run can be scored like the final model (EMA weights when the run kept them)."""
    from codeckit.codecs import build_codec

    ckpt_dir = Path(exp_dir) / "checkpoints"
    path = checkpoint_path(ckpt_dir, step)
    if not path.is_file():
        kept = [s for s, _ in list_checkpoints(ckpt_dir)]
        raise CheckpointError(f"no checkpoint for step {step} in {ckpt_dir}; kept steps: {kept or 'none'}")
    state = load_checkpoint(path)
    codec = build_codec(config.model, source="model")
    try:
        codec.load_state_dict(state["codec"])
        weights = ema_codec(codec, state.get("ema"))
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {path} does not fit the config's model: {e}") from None
    return export_codec(weights, Path(exp_dir) / f"model_step_{step}", step, ema=state.get("ema") is not None)


def export_codec(codec: torch.nn.Module, out: Path, step: int, ema: bool) -> Path:
    """Save a trained codec as a model directory, recording its step and whether its weights are the EMA's."""
    from codeckit.codecs import save_codec

    return save_codec(codec, out, extra={"training": {"steps": step, "ema": ema}})


def ema_codec(codec: torch.nn.Module, ema_state: dict[str, torch.Tensor] | None) -> torch.nn.Module:
    """`codec` with the EMA weights when a run kept them (a copy: the training weights stay), else itself."""
    if ema_state is None:
        return codec
    out = copy.deepcopy(codec)
    out.load_state_dict(ema_state)
    return out
