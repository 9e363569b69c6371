"""Random-init small codecs (real parts from the registries) and their ONNX exports, made once per session."""

from __future__ import annotations

import copy

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.configs import model_config

# A causal multi-scale codec: SNAC blocks with causal convs, causal local attention at both bottlenecks,
# a 3-level multi-scale RVQ; no NoiseBlock (its noise is drawn per call, so chunks could not match).
CAUSAL_SNAC = {
    "sample_rate": 16000,
    "encoder": {"name": "snac", "dim": 16, "rates": [2, 4], "depthwise": True, "attn_window": 4, "causal": True},
    "quantizer": {
        "name": "multiscale_rvq",
        "strides": [4, 2, 1],
        "level": {"name": "vq", "dim": 64, "codebook_size": 256, "codebook_dim": 8, "l2_normalize": True},
    },
    "decoder": {
        "name": "snac",
        "latent_dim": 64,
        "dim": 64,
        "rates": [4, 2],
        "depthwise": True,
        "attn_window": 4,
        "noise": False,
        "causal": True,
    },
}

# A causal SEANet with reflect padding (as EnCodec's released models): the first chunk must be long enough.
REFLECT_SEANET = {
    "sample_rate": 16000,
    "encoder": {
        "name": "seanet",
        "dimension": 16,
        "n_filters": 4,
        "ratios": [4, 2],
        "lstm": 1,
        "causal": True,
        "pad_mode": "reflect",
    },
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 16, "codebook_size": 64}},
    "decoder": {
        "name": "seanet",
        "dimension": 16,
        "n_filters": 4,
        "ratios": [4, 2],
        "lstm": 1,
        "causal": True,
        "pad_mode": "reflect",
    },
}


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every export test runs with one intra-op thread (tests/conftest.py)."""


def make_codec(config: str | dict, seed: int = 0):
    """A random-init codec in eval mode from a shipped config name or a `model:` dict."""
    torch.manual_seed(seed)
    cfg = copy.deepcopy(model_config(config)["model"] if isinstance(config, str) else config)
    return build_codec(cfg).eval()


def _export(tmp_path_factory, name: str, codec, **kwargs):
    from codeckit.export.exporter import export_codec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp(f"onnx_{name}")
        export_codec(codec, out, **kwargs)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="session")
def encodec_tiny():
    return make_codec("encodec_tiny")


@pytest.fixture(scope="session")
def encodec_tiny_onnx(tmp_path_factory, encodec_tiny):
    return _export(tmp_path_factory, "encodec_tiny", encodec_tiny, chunk_frames=2)


@pytest.fixture(scope="session")
def snac_tiny():
    """The shipped snac_tiny (non-causal, NoiseBlocks on, seeded at inference)."""
    return make_codec("snac_tiny")


@pytest.fixture(scope="session")
def snac_tiny_onnx(tmp_path_factory, snac_tiny):
    return _export(tmp_path_factory, "snac_tiny", snac_tiny)


@pytest.fixture(scope="session")
def causal_snac():
    return make_codec(CAUSAL_SNAC)


@pytest.fixture(scope="session")
def causal_snac_onnx(tmp_path_factory, causal_snac):
    return _export(tmp_path_factory, "causal_snac", causal_snac)


@pytest.fixture(scope="session")
def reflect_seanet():
    return make_codec(REFLECT_SEANET)


@pytest.fixture(scope="session")
def reflect_seanet_onnx(tmp_path_factory, reflect_seanet):
    return _export(tmp_path_factory, "reflect_seanet", reflect_seanet)
