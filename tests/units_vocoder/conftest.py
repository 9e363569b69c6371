"""A tiny units codec on generated audio: MFCC + deltas (encoder `mfcc`), k-means centres drawn from the corpus's
own frames (quantizer `kmeans`), and a small `unit_hifigan` decoder."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 16000
N_UNITS = 12


def write_corpus(directory: Path, n: int = 6, seconds: float = 0.6, seed: int = 0) -> Path:
    """`n` files of steady 'phones' (harmonic tones, 40-160 ms each, with their own f0 and tilt); the wav.scp."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        pieces, total = [], int(SR * seconds)
        while sum(len(p) for p in pieces) < total:
            t = np.arange(int(SR * rng.uniform(0.04, 0.16))) / SR
            f0, tilt = rng.uniform(100, 300), rng.uniform(0.5, 2.0)
            pieces.append(sum(np.sin(2 * np.pi * f0 * k * t) / k**tilt for k in range(1, 6)))
        x = 0.2 * np.concatenate(pieces)[:total] + 0.003 * rng.standard_normal(total)
        path = directory / f"utt{i:02d}.wav"
        sf.write(path, x.astype(np.float32), SR)
        lines.append(f"utt{i:02d} {path}")
    scp = directory / "wav.scp"
    scp.write_text("\n".join(lines) + "\n")
    return scp


@pytest.fixture(scope="session")
def units_corpus(tmp_path_factory) -> Path:
    """The generated corpus's wav.scp."""
    return write_corpus(tmp_path_factory.mktemp("units_corpus"))


@pytest.fixture(scope="session")
def centroids(units_corpus, tmp_path_factory) -> Path:
    """A centroids file of N_UNITS MFCC frames drawn at random from the corpus (a stand-in for a k-means fit)."""
    from codeckit.audio import read_audio
    from codeckit.quantizers.centroids import write_centroids
    from codeckit.registry import ENCODERS
    from codeckit.train.data import read_wav_scp

    mfcc = ENCODERS.build({"name": "mfcc"})
    with torch.no_grad():
        frames = torch.cat([mfcc(read_audio(p, SR)[0][None])[0].T for _, p in read_wav_scp(units_corpus)])
    pick = torch.randperm(frames.shape[0], generator=torch.Generator().manual_seed(0))[:N_UNITS]
    return write_centroids(tmp_path_factory.mktemp("kmeans") / "centroids.safetensors", frames[pick])


@pytest.fixture(scope="session")
def units_model(centroids) -> dict:
    """The `model:` dict of the tiny units codec (hop 160, 100 Hz, 12 units)."""
    return {
        "sample_rate": SR,
        "encoder": {"name": "mfcc"},
        "quantizer": {"name": "kmeans", "centroids": str(centroids)},
        "decoder": {"name": "unit_hifigan", "latent_dim": 39, "hop_length": 160, "dim": 32, "n_layers": 1},
    }


@pytest.fixture
def units_codec(units_model, make_codec):
    """`units_codec(**decoder keys)`: the tiny units codec, random-init decoder, eval mode."""

    def build(**decoder) -> torch.nn.Module:
        return make_codec({**copy.deepcopy(units_model), "decoder": {**units_model["decoder"], **decoder}})

    return build
