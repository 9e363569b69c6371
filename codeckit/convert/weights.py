"""Reading released checkpoints safely and renaming their tensors to a codeckit codec's keys.

Pickled files are read only with `torch.load(weights_only=True)`, which refuses anything but tensors and
plain containers, so a checkpoint can never run code. Weight-norm tensors may be stored in the old
`weight_g` / `weight_v` form or the newer `parametrizations.weight.original0/1` form; both map.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from codeckit.errors import ModelDirError

# Module paths of the DAC lineage (DAC, SNAC) -> codeckit's.
RENAMES: tuple[tuple[str, str], ...] = (
    (r"^encoder\.block\.", "encoder.layers."),
    (r"^decoder\.model\.", "decoder.layers."),
    (r"^quantizer\.quantizers\.", "quantizer.levels."),
)


def read_checkpoint(path: Path) -> Any:
    """The object in a safetensors file (a dict of tensors) or a pickle (tensors and plain containers only)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported the same way, on one line
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        if isinstance(e, pickle.UnpicklingError) and "Weights only load failed" in str(e):
            # weights_only refused a global: unpickling the file would have run code
            why = next((ln for ln in lines if "Unsupported" in ln or "GLOBAL" in ln), lines[0])
            why = why.split(". Please")[0]  # not torch's advice to allow-list the global: that would run it
            raise ModelDirError(
                f"{path}: cannot read weights: refused to unpickle, it holds more than tensors and plain "
                f"containers ({why})"
            ) from None
        raise ModelDirError(f"{path}: cannot read weights ({type(e).__name__}: {lines[0] if lines else ''})") from None


def state_dict_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a loaded checkpoint (unwrapping `state_dict` / `model`, dropping DDP's `module.`)."""
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelDirError(f"{path}: expected a mapping of tensor names to tensors")
    return {re.sub(r"^module\.", "", k): v for k, v in obj.items()}


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file or a pickled state dict (read with weights_only=True)."""
    return state_dict_of(read_checkpoint(path), path)


def _canonical(key: str) -> str:
    """Old weight-norm names to the parametrization names (`weight_g` -> `parametrizations.weight.original0`)."""
    key = re.sub(r"\.weight_g$", ".parametrizations.weight.original0", key)
    return re.sub(r"\.weight_v$", ".parametrizations.weight.original1", key)


def map_state(
    state: Mapping[str, torch.Tensor],
    target: Mapping[str, torch.Tensor],
    renames: Sequence[tuple[str, str]],
    family: str,
) -> dict[str, torch.Tensor]:
    """`state`'s tensors renamed to the keys of `target` (a codeckit codec's state dict).

    A key maps, after `renames`, to the target key with the same module path, or, where codeckit wraps a
    layer (a streamable conv around nn.Conv1d), to the one target key under that path with the same tensor name.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith("rel_pos.inv_freq") or key.endswith("rel_pos.scale"):
            continue  # rotary frequencies are recomputed (and checked by the parity tests)
        name = _canonical(key)
        for pattern, repl in renames:
            name = re.sub(pattern, repl, name)
        if name not in target:
            m = re.match(r"^(.*?)\.(parametrizations\.weight\.original[01]|[^.]+)$", name)
            hits = [k for k in target if m and k.startswith(m[1] + ".") and k.endswith("." + m[2])]
            if len(hits) != 1:
                raise ModelDirError(f"{family} tensor '{key}' has no single counterpart in codeckit (found {hits})")
            name = hits[0]
        if tuple(target[name].shape) != tuple(value.shape):
            raise ModelDirError(
                f"{family} tensor '{key}' has shape {tuple(value.shape)}, codeckit '{name}' {tuple(target[name].shape)}"
            )
        out[name] = value.to(target[name].dtype)
    return out
