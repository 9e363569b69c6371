"""Random-init tiny codecs saved as model directories (real parts from the registries, no mocks)."""

import copy

import numpy as np
import pytest
import torch

from codeckit.codecs import build_codec, save_codec
from codeckit.configs import model_config


def tiny_config(name: str = "snac_tiny", noise: bool | None = None) -> dict:
    """A shipped tiny model config's `model:` section; `noise=False` turns SNAC's NoiseBlocks off."""
    cfg = copy.deepcopy(model_config(name)["model"])
    if noise is not None:
        cfg["decoder"]["noise"] = noise
    return cfg


def make_model_dir(path, name: str = "snac_tiny", seed: int = 0, noise: bool | None = None):
    torch.manual_seed(seed)
    codec = build_codec(tiny_config(name, noise))
    return save_codec(codec, path)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("models") / "snac_tiny")


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory):
    """Same config, other weights: a different codec identity."""
    return make_model_dir(tmp_path_factory.mktemp("models") / "snac_tiny_b", seed=1)


@pytest.fixture(scope="session")
def quiet_model_dir(tmp_path_factory):
    """snac_tiny without decoder noise, so decoding is a pure function of the codes."""
    return make_model_dir(tmp_path_factory.mktemp("models") / "snac_tiny_quiet", noise=False)


def _tone(seconds: float, sr: int, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A float32 test signal: a tone plus a little noise, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


@pytest.fixture(scope="session")
def tone():
    """`tone(seconds, sr, freq=220, seed=0)` -> a float32 test signal."""
    return _tone


@pytest.fixture(scope="session")
def new_model_dir():
    """`new_model_dir(path, name="snac_tiny", seed=0, noise=None)` -> a saved random-init model directory."""
    return make_model_dir


CAUSAL_SEANET = {
    "sample_rate": 16000,
    "encoder": {"name": "seanet", "dimension": 16, "n_filters": 4, "ratios": [4, 4, 2], "lstm": 1, "causal": True},
    "quantizer": {"name": "rvq", "n_levels": 3, "level": {"name": "vq", "dim": 16, "codebook_size": 64}},
    "decoder": {"name": "seanet", "dimension": 16, "n_filters": 4, "ratios": [2, 4, 4], "lstm": 1, "causal": True},
}


@pytest.fixture(scope="session")
def causal_model_dir(tmp_path_factory):
    """A small causal SEANet codec with an LSTM (infinite receptive field): chunking must carry state."""
    torch.manual_seed(0)
    return save_codec(build_codec(copy.deepcopy(CAUSAL_SEANET)), tmp_path_factory.mktemp("models") / "causal")
