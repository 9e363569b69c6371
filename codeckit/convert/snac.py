"""Convert a released SNAC model (config.json + pytorch_model.bin or model.safetensors) to a codeckit model dir.

Weight-norm tensors may be stored in the old `weight_g` / `weight_v` form or the newer
`parametrizations.weight.original0/1` form; both load. Pickled weights are read only with
`torch.load(weights_only=True)`, which refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from codeckit.errors import ModelDirError

# SNAC's constructor defaults, used for keys a config.json leaves out.
SNAC_DEFAULTS: dict[str, Any] = {
    "sampling_rate": 44100,
    "encoder_dim": 64,
    "encoder_rates": [3, 3, 7, 7],
    "latent_dim": None,
    "decoder_dim": 1536,
    "decoder_rates": [7, 7, 3, 3],
    "attn_window_size": 32,
    "codebook_size": 4096,
    "codebook_dim": 8,
    "vq_strides": [8, 4, 2, 1],
    "noise": True,
    "depthwise": True,
}
WEIGHT_NAMES = ("model.safetensors", "pytorch_model.bin")


def snac_model_config(snac_config: Mapping[str, Any], source: str = "config.json") -> dict[str, Any]:
    """The codeckit `model:` section equivalent to a SNAC config.json mapping."""
    unknown = sorted(set(snac_config) - set(SNAC_DEFAULTS))
    if unknown:
        raise ModelDirError(f"{source}: unknown SNAC config key '{unknown[0]}' (known: {', '.join(SNAC_DEFAULTS)})")
    c = {**SNAC_DEFAULTS, **snac_config}
    latent = c["latent_dim"] or c["encoder_dim"] * 2 ** len(c["encoder_rates"])
    window = c["attn_window_size"]
    return {
        "sample_rate": int(c["sampling_rate"]),
        "name": "codec",
        "channels": 1,
        "encoder": {
            "name": "snac",
            "dim": int(c["encoder_dim"]),
            "rates": [int(r) for r in c["encoder_rates"]],
            "depthwise": bool(c["depthwise"]),
            "attn_window": window,
        },
        "quantizer": snac_quantizer_config(latent, c["codebook_size"], c["codebook_dim"], c["vq_strides"]),
        "decoder": {
            "name": "snac",
            "latent_dim": int(latent),
            "dim": int(c["decoder_dim"]),
            "rates": [int(r) for r in c["decoder_rates"]],
            "depthwise": bool(c["depthwise"]),
            "attn_window": window,
            "noise": bool(c["noise"]),
        },
    }


def snac_quantizer_config(dim: int, codebook_size: int, codebook_dim: int, strides: list[int]) -> dict[str, Any]:
    """SNAC's quantizer: multi-scale residual VQ, factorized L2-normalized codes, trained by gradient."""
    return {
        "name": "multiscale_rvq",
        "strides": [int(s) for s in strides],
        "level": {
            "name": "vq",
            "dim": int(dim),
            "codebook_size": int(codebook_size),
            "codebook_dim": int(codebook_dim),
            "l2_normalize": True,
            "update": "grad",
        },
    }


def find_snac_files(src: str | os.PathLike) -> tuple[Path, Path]:
    """(config.json, weights) for a SNAC download: a directory, a hub cache folder, or the weights file itself."""
    p = Path(src)
    if not p.exists():
        raise ModelDirError(f"SNAC source not found: {p}")
    if p.is_file():
        config, weights = p.parent / "config.json", p
    else:
        snapshots = sorted((p / "snapshots").glob("*/config.json"), key=lambda f: f.stat().st_mtime)
        folder = p if (p / "config.json").is_file() or not snapshots else snapshots[-1].parent
        config = folder / "config.json"
        found = [folder / n for n in WEIGHT_NAMES if (folder / n).is_file()]
        if not found:
            found = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")) + sorted(folder.glob("*.pt*"))
        if not found:
            raise ModelDirError(f"{folder}: no SNAC weights (expected {' or '.join(WEIGHT_NAMES)})")
        weights = found[0]
    if not config.is_file():
        raise ModelDirError(f"{config.parent}: no config.json beside the SNAC weights {weights.name}")
    return config, weights


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file or a pickled state dict (read with weights_only=True)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
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
    for key in ("state_dict", "model"):  # checkpoints that wrap the state dict
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelDirError(f"{path}: expected a mapping of tensor names to tensors")
    return {re.sub(r"^module\.", "", k): v for k, v in state.items()}


def _canonical(key: str) -> str:
    """Old weight-norm names to the parametrization names (`weight_g` -> `parametrizations.weight.original0`)."""
    key = re.sub(r"\.weight_g$", ".parametrizations.weight.original0", key)
    return re.sub(r"\.weight_v$", ".parametrizations.weight.original1", key)


def _rename(key: str) -> str:
    """A SNAC module path to codeckit's (before locating the tensor inside wrapped modules)."""
    key = re.sub(r"^encoder\.block\.", "encoder.layers.", key)
    key = re.sub(r"^decoder\.model\.", "decoder.layers.", key)
    return re.sub(r"^quantizer\.quantizers\.", "quantizer.levels.", key)


def map_snac_state(state: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SNAC tensors renamed to the keys of `target` (a codeckit SNAC codec's state dict).

    A key maps to the target key with the same module path, or, where codeckit wraps a layer (a
    streamable conv around nn.Conv1d), to the one target key under that path with the same tensor name.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.endswith("rel_pos.inv_freq") or key.endswith("rel_pos.scale"):
            continue  # rotary frequencies are recomputed (and checked by the parity tests)
        name = _rename(_canonical(key))
        if name not in target:
            module, leaf = re.match(r"^(.*?)\.(parametrizations\.weight\.original[01]|[^.]+)$", name).groups()
            hits = [k for k in target if k.startswith(module + ".") and k.endswith("." + leaf)]
            if len(hits) != 1:
                raise ModelDirError(f"SNAC tensor '{key}' has no single counterpart in codeckit (found {hits})")
            name = hits[0]
        if tuple(target[name].shape) != tuple(value.shape):
            raise ModelDirError(
                f"SNAC tensor '{key}' has shape {tuple(value.shape)}, codeckit '{name}' {tuple(target[name].shape)}"
            )
        out[name] = value.to(target[name].dtype)
    return out


def convert_snac(src: str | os.PathLike, dst: str | os.PathLike, origin: str | None = None) -> Path:
    """Convert the SNAC model at `src` into a codeckit model directory `dst`; returns `dst`.

    `origin` is the source recorded in config.yaml (default: `src`'s absolute path; e.g. a hub commit)."""
    from codeckit.codecs import build_codec, save_codec
    from codeckit.modeldir import load_state_checked

    config_path, weights_path = find_snac_files(src)
    try:
        snac_config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelDirError(f"{config_path}: invalid JSON ({e})") from None
    if not isinstance(snac_config, dict):
        raise ModelDirError(f"{config_path}: expected a JSON object")
    codec = build_codec(snac_model_config(snac_config, str(config_path)), source=str(config_path))
    state = map_snac_state(read_weights(weights_path), codec.state_dict())
    load_state_checked(codec, state, source=str(weights_path))
    origin = origin or str(Path(src).resolve())
    return save_codec(codec, dst, extra={"converted_from": {"format": "snac", "source": origin}})
