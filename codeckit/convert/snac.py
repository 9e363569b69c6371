"""Convert a released SNAC model (config.json + pytorch_model.bin or model.safetensors) to a codeckit model dir.

Weight-norm tensors may be stored in the old `weight_g` / `weight_v` form or the newer
`parametrizations.weight.original0/1` form; both load. Pickled weights are read only with
`torch.load(weights_only=True)`, which refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from codeckit.convert.weights import RENAMES, map_state, read_weights
from codeckit.errors import ModelDirError

__all__ = ["convert_snac", "map_snac_state", "read_weights", "snac_model_config"]

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


def map_snac_state(state: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SNAC tensors renamed to the keys of `target` (a codeckit SNAC codec's state dict)."""
    return map_state(state, target, RENAMES, "SNAC")


def convert_snac(src: str | os.PathLike, dst: str | os.PathLike, origin: str | None = None) -> Path:
    """Convert the SNAC model at `src` into a codeckit model directory `dst`; returns `dst`.

    `origin` is the source recorded in config.yaml (default: `src`'s absolute path; e.g. a hub commit)."""
    from codeckit.codecs import build_codec, save_codec
    from codeckit.modeldir import load_state_checked, read_mapping

    config_path, weights_path = find_snac_files(src)
    json_errors = (json.JSONDecodeError, UnicodeDecodeError)
    snac_config = read_mapping(config_path, json.loads, json_errors, "invalid JSON", "expected a JSON object")
    codec = build_codec(snac_model_config(snac_config, str(config_path)), source=str(config_path))
    state = map_snac_state(read_weights(weights_path), codec.state_dict())
    load_state_checked(codec, state, source=str(weights_path))
    origin = origin or str(Path(src).resolve())
    return save_codec(codec, dst, extra={"converted_from": {"format": "snac", "source": origin}})
