"""A units model directory: feature encoder + k-means quantizer + unit vocoder, a `Codec` like any other.

`units_model_config` gives the `model:` section; `write_units_model` saves the codec built from it (the centres
go into model.safetensors, so the directory needs no other file). Until `codeckit train` has trained the vocoder
(recipe stage 3), the directory's vocoder is untrained: `tokenize` is exact, `detokenize` gives noise, and
config.yaml says so under `units.vocoder`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from codeckit.codecs import build_codec
from codeckit.codecs.storage import save_codec
from codeckit.quantizers.centroids import read_centroids


def default_vocoder(latent_dim: int, hop_length: int) -> dict[str, Any]:
    """A small `unit_hifigan` (ConvNeXt + ISTFT at the unit rate) for `latent_dim`-dim centres at `hop_length`."""
    return {"name": "unit_hifigan", "latent_dim": latent_dim, "hop_length": hop_length, "dim": 128, "n_layers": 4}


def units_model_config(
    encoder: dict[str, Any],
    centroids: str | os.PathLike,
    sample_rate: int,
    decoder: dict[str, Any] | None = None,
    embed_centroids: bool = True,
) -> dict[str, Any]:
    """The `model:` section of a units codec; with `embed_centroids` the quantizer names sizes, not the file
    (its centres then come with the weights), else it reads `centroids` when built (a training config)."""
    from codeckit.registry import ENCODERS

    centres, _ = read_centroids(centroids)
    hop = int(ENCODERS.build(encoder, source="units: encoder").hop_length)
    n_units, dim = (int(v) for v in centres.shape)
    quantizer = {"name": "kmeans", "n_units": n_units, "dim": dim}
    if not embed_centroids:
        quantizer["centroids"] = str(centroids)
    return {"sample_rate": sample_rate, "encoder": dict(encoder), "quantizer": quantizer,
            "decoder": decoder or default_vocoder(dim, hop)}  # fmt: skip


def write_units_model(
    out: str | os.PathLike,
    encoder: dict[str, Any],
    centroids: str | os.PathLike,
    sample_rate: int,
    decoder: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
) -> Path:
    """Save the units codec (centres from `centroids`, vocoder untrained) as a model directory at `out`."""
    config = units_model_config(encoder, centroids, sample_rate, decoder)
    codec = build_codec({**config, "quantizer": {**config["quantizer"], "centroids": str(centroids)}})
    codec.config.quantizer = config["quantizer"]  # saved without the file's path: the centres are in the weights
    info = {"centroids": Path(centroids).name, "vocoder": "untrained (train it with codeckit train)", **(summary or {})}
    return save_codec(codec, out, extra={"units": info})
