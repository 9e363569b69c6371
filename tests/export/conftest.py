"""Random-init small codecs (real parts from the registries) and their ONNX exports, made once per session."""

from __future__ import annotations

import pytest

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


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every export test runs with one intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def encodec_tiny(make_codec):
    """The shipped encodec_tiny (a causal SEANet with an LSTM, zero padding)."""
    return make_codec("encodec_tiny")


@pytest.fixture(scope="session")
def encodec_tiny_onnx(export_onnx, encodec_tiny):
    """encodec_tiny's ONNX export, its step graphs 2 frames a chunk."""
    return export_onnx("encodec_tiny", encodec_tiny, chunk_frames=2)


@pytest.fixture(scope="session")
def snac_tiny(make_codec):
    """The shipped snac_tiny (non-causal, NoiseBlocks on, seeded at inference)."""
    return make_codec("snac_tiny")


@pytest.fixture(scope="session")
def snac_tiny_onnx(export_onnx, snac_tiny):
    """snac_tiny's ONNX export (offline graphs)."""
    return export_onnx("snac_tiny", snac_tiny)


@pytest.fixture(scope="session")
def causal_snac(make_codec):
    """CAUSAL_SNAC, random-init."""
    return make_codec(CAUSAL_SNAC)


@pytest.fixture(scope="session")
def causal_snac_onnx(export_onnx, causal_snac):
    """causal_snac's ONNX export, with step graphs."""
    return export_onnx("causal_snac", causal_snac)


@pytest.fixture(scope="session")
def reflect_seanet(make_codec, tiny_causal_seanet):
    """A causal SEANet with reflect padding (as EnCodec's released models): the first chunk must be long enough."""
    return make_codec(tiny_causal_seanet("reflect", lstm=1))


@pytest.fixture(scope="session")
def reflect_seanet_onnx(export_onnx, reflect_seanet):
    """reflect_seanet's ONNX export, with step graphs."""
    return export_onnx("reflect_seanet", reflect_seanet)
