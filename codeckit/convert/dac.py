"""Convert a released DAC model (descript-audio-codec's `weights_*.pth`: 16, 24 or 44.1 kHz) to a codeckit model dir.

DAC saves `{"state_dict": ..., "metadata": {"kwargs": <the DAC constructor's arguments>}}`; the file is read
with `torch.load(weights_only=True)`. The architecture maps onto codeckit's `dac` encoder and decoder and a
residual quantizer of factorized, L2-normalized VQ levels (DAC's own), the decoder upsampling with DAC's
transposed-conv trimming (`reference_lengths`) so the 16 and 24 kHz models' odd stride 5 decodes as trained.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeckit.convert.weights import RENAMES, map_state, read_checkpoint, state_dict_of
from codeckit.errors import ModelDirError

# The DAC constructor's defaults (dac/model/dac.py), for keys a file's metadata leaves out.
DAC_DEFAULTS: dict[str, Any] = {
    "encoder_dim": 64,
    "encoder_rates": [2, 4, 8, 8],
    "latent_dim": None,
    "decoder_dim": 1536,
    "decoder_rates": [8, 8, 4, 2],
    "n_codebooks": 9,
    "codebook_size": 1024,
    "codebook_dim": 8,
    "quantizer_dropout": False,
    "sample_rate": 44100,
}
WEIGHT_SUFFIXES = (".pth", ".pt", ".safetensors")


def dac_model_config(kwargs: Mapping[str, Any], source: str = "metadata") -> dict[str, Any]:
    """The codeckit `model:` section equivalent to DAC's constructor arguments `kwargs`."""
    unknown = sorted(set(kwargs) - set(DAC_DEFAULTS))
    if unknown:
        raise ModelDirError(f"{source}: unknown DAC argument '{unknown[0]}' (known: {', '.join(DAC_DEFAULTS)})")
    c = {**DAC_DEFAULTS, **kwargs}
    try:
        encoder_rates = [int(r) for r in c["encoder_rates"]]
        decoder_rates = [int(r) for r in c["decoder_rates"]]
        latent = int(c["latent_dim"] or int(c["encoder_dim"]) * 2 ** len(encoder_rates))
        dims = c["codebook_dim"] if isinstance(c["codebook_dim"], (list, tuple)) else [c["codebook_dim"]]
        if len(set(int(d) for d in dims)) != 1:
            raise ModelDirError(f"{source}: per-level codebook_dim {list(dims)} is not supported (one size only)")
        return {
            "sample_rate": int(c["sample_rate"]),
            "name": "codec",
            "channels": 1,
            "encoder": {"name": "dac", "dim": int(c["encoder_dim"]), "rates": encoder_rates, "latent_dim": latent},
            "quantizer": {
                "name": "rvq",
                "n_levels": int(c["n_codebooks"]),
                "level": {
                    "name": "vq",
                    "dim": latent,
                    "codebook_size": int(c["codebook_size"]),
                    "codebook_dim": int(dims[0]),
                    "l2_normalize": True,
                    "update": "grad",
                },
            },
            "decoder": {
                "name": "dac",
                "latent_dim": latent,
                "dim": int(c["decoder_dim"]),
                "rates": decoder_rates,
                "reference_lengths": True,
            },
        }
    except (TypeError, ValueError) as e:
        raise ModelDirError(f"{source}: malformed DAC arguments ({e})") from None


def find_dac_weights(src: str | os.PathLike) -> Path:
    """The weights file of a DAC download: the file itself or the folder holding exactly one."""
    p = Path(src)
    if not p.exists():
        raise ModelDirError(f"DAC source not found: {p}")
    if p.is_file():
        return p
    found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix in WEIGHT_SUFFIXES)
    if len(found) != 1:
        names = ", ".join(f.name for f in found) or "none"
        raise ModelDirError(f"{p}: expected one DAC weights file ({'/'.join(WEIGHT_SUFFIXES)}), found {names}")
    return found[0]


def read_dac_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(constructor kwargs, state dict) of a file saved by DAC (`DAC.save` / its training script)."""
    obj = read_checkpoint(path)
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    kwargs = metadata.get("kwargs") if isinstance(metadata, Mapping) else None
    if not isinstance(kwargs, Mapping):
        raise ModelDirError(
            f"{path}: no metadata.kwargs with the DAC arguments (expected a file saved by descript-audio-codec)"
        )
    return dict(kwargs), state_dict_of(obj, path)


def convert_dac(src: str | os.PathLike, dst: str | os.PathLike, origin: str | None = None) -> Path:
    """Convert the DAC model at `src` (a weights file or its folder) into a codeckit model directory `dst`.

    `origin` is the source recorded in config.yaml (default: `src`'s absolute path; e.g. a hub commit)."""
    from codeckit.codecs import build_codec, save_codec
    from codeckit.modeldir import load_state_checked

    path = find_dac_weights(src)
    kwargs, state = read_dac_checkpoint(path)
    codec = build_codec(dac_model_config(kwargs, f"{path}: metadata.kwargs"), source=str(path))
    load_state_checked(codec, map_state(state, codec.state_dict(), RENAMES, "DAC"), source=str(path))
    origin = origin or str(Path(src).resolve())
    return save_codec(codec, dst, extra={"converted_from": {"format": "dac", "source": origin}})
