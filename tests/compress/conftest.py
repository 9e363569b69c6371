"""Tiny random-init codecs of every family, and context models fit on structured random codes for them."""

import copy

import numpy as np
import pytest
import torch

from codeckit.api import CodecModel
from codeckit.codecs import build_codec
from codeckit.compress.files import spec_of
from codeckit.compress.fit import fit_context_model
from codeckit.configs import model_config

FAMILIES = ["snac_tiny", "encodec_tiny", "dac_tiny", "freqcodec_tiny"]


def build_tiny(name: str, seed: int = 0) -> CodecModel:
    torch.manual_seed(seed)
    return CodecModel(build_codec(copy.deepcopy(model_config(name)["model"])))


def random_codes(spec, frames0: int, rng: np.random.Generator, n_levels: int | None = None) -> list[np.ndarray]:
    """Codes for `frames0` coarse frames: per level a sticky walk over a few codes, the same few for every
    item (so a model fit on some items predicts others, and contexts matter)."""
    n = n_levels or spec.levels
    out = []
    for level, (hop, size) in enumerate(zip(spec.hop_lengths[:n], spec.codebook_sizes[:n])):
        alphabet = np.random.default_rng(level).choice(size, size=min(size, 24), replace=False)
        draws = alphabet[rng.integers(0, len(alphabet), frames0 * spec.hop_lengths[0] // hop)]
        stay = rng.random(draws.shape[0]) < 0.6
        for t in range(1, draws.shape[0]):
            if stay[t]:
                draws[t] = draws[t - 1]
        out.append(draws.astype(np.int64))
    return out


@pytest.fixture(scope="session")
def tiny_codecs():
    """name -> a random-init CodecModel of that family (no model directory)."""
    return {name: build_tiny(name) for name in FAMILIES}


@pytest.fixture(scope="session")
def fitted(tiny_codecs):
    """name -> (CodecModel, its context model fit on 20 items of structured random codes)."""
    out = {}
    for name, codec in tiny_codecs.items():
        spec = spec_of(codec)
        rng = np.random.default_rng(0)
        items = [random_codes(spec, int(rng.integers(5, 60)), rng) for _ in range(20)]
        model = fit_context_model(items, spec)
        codec.context_model = model
        out[name] = (codec, model)
    return out


def tone(seconds: float, sr: int, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A float32 test signal: a tone plus a little noise, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
