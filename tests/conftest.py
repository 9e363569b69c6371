"""Fixtures shared across test folders: thread limits, tiny codec configs and builders, a reference SNAC release.

Builders are session fixtures that return a function, so module- and session-scoped fixtures can use them too.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

# hubertsiuzdak/snac_24khz's config.json (hops 512, strides 4/2/1, 4096 codes a level)
SNAC_24KHZ = dict(
    sampling_rate=24000,
    encoder_dim=48,
    encoder_rates=[2, 4, 8, 8],
    decoder_dim=1024,
    decoder_rates=[8, 8, 4, 2],
    attn_window_size=None,
    codebook_size=4096,
    codebook_dim=8,
    vq_strides=[4, 2, 1],
    noise=True,
    depthwise=True,
)


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """`n` intra-op threads inside the block, the previous number after it."""
    with ExitStack() as restore:
        restore.callback(torch.set_num_threads, torch.get_num_threads())
        torch.set_num_threads(n)
        yield


@pytest.fixture
def one_thread():
    """One intra-op thread for small tensors: on a loaded 2-core machine two threads make small convs ~100x slower."""
    with _torch_threads(1):
        yield


@pytest.fixture(scope="session")
def torch_threads() -> Callable[[int], Any]:
    """`with torch_threads(1): ...`: `one_thread` for module- and session-scoped fixtures, which cannot use it."""
    return _torch_threads


def _make_codec(config: str | dict, seed: int = 0) -> torch.nn.Module:
    from codeckit.codecs import build_codec
    from codeckit.configs import model_config

    torch.manual_seed(seed)
    cfg = copy.deepcopy(model_config(config)["model"] if isinstance(config, str) else config)
    return build_codec(cfg).eval()


@pytest.fixture(scope="session")
def make_codec() -> Callable[..., torch.nn.Module]:
    """`make_codec(config, seed=0)`: a random-init codec in eval mode from a shipped config name or a `model:` dict."""
    return _make_codec


@pytest.fixture(scope="session")
def export_onnx(tmp_path_factory, torch_threads) -> Callable[..., Path]:
    """`export_onnx(name, codec, **kwargs)`: the codec's ONNX export (one thread) in a new temporary folder."""

    def run(name: str, codec: torch.nn.Module, **kwargs: Any) -> Path:
        from codeckit.export.exporter import export_codec

        out = tmp_path_factory.mktemp(f"onnx_{name}")
        with torch_threads(1):
            export_codec(codec, out, **kwargs)
        return out

    return run


def _tiny_causal_seanet(pad_mode: str, **stack: Any) -> dict:
    """A tiny causal SEANet codec at 16 kHz, hop 8, 2 residual levels of 64 codes; `stack`: more SEANet keys."""
    side = {"name": "seanet", "dimension": 16, "n_filters": 4, "ratios": [4, 2], **stack}
    side.update(causal=True, pad_mode=pad_mode)
    return {
        "sample_rate": 16000,
        "encoder": side,
        "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 16, "codebook_size": 64}},
        "decoder": copy.deepcopy(side),
    }


@pytest.fixture(scope="session")
def tiny_causal_seanet() -> Callable[..., dict]:
    """`tiny_causal_seanet(pad_mode, **seanet keys)`: the `model:` dict of a tiny causal SEANet codec."""
    return _tiny_causal_seanet


def _tiny_vocos(causal: bool, upsample: int = 1, phase: bool = False, **decoder: Any) -> dict:
    """A tiny 8 kHz vocos codec at hop 40 (200 Hz) with a 2-level RVQ; `decoder`: more decoder keys."""
    encoder = {"name": "vocos", "latent_dim": 16, "hop_length": 40, "n_fft": 80, "dim": 24, "n_layers": 2}
    encoder.update(phase=phase, causal=causal)
    return {
        "sample_rate": 8000,
        "encoder": encoder,
        "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 16, "codebook_size": 32}},
        "decoder": {
            "name": "vocos",
            "latent_dim": 16,
            "hop_length": 40,
            "n_fft": 160 // upsample,
            "dim": 32,
            **decoder,
            "n_layers": 2,
            "upsample": upsample,
            "causal": causal,
        },
    }


def _tiny_pitch_vocos(**decoder: Any) -> dict:
    """A tiny 8 kHz codec at hop 40 that sends pitch: 2 FSQ levels + a 32-level pitch code."""
    return {
        "sample_rate": 8000,
        "encoder": {"name": "vocos", "latent_dim": 8, "hop_length": 40, "n_fft": 80, "dim": 16, "n_layers": 1,
                    "pitch": True, "fmin": 60.0, "fmax": 400.0},
        "quantizer": {"name": "pitch_split", "levels": 32, "quantizer": {
            "name": "rvq", "n_levels": 2, "level": {"name": "fsq", "levels": [5, 5], "dim": 8}}},
        "decoder": {"name": "vocos", "latent_dim": 9, "hop_length": 40, "n_fft": 160, "dim": 16, "n_layers": 1,
                    "head": "harmonic", "fmin": 60.0, "fmax": 400.0, **decoder},
    }  # fmt: skip


@pytest.fixture(scope="session")
def tiny_pitch_vocos() -> Callable[..., dict]:
    """`tiny_pitch_vocos(**decoder keys)`: the `model:` dict of a tiny vocos codec that sends pitch."""
    return _tiny_pitch_vocos


@pytest.fixture(scope="session")
def tiny_vocos() -> Callable[..., dict]:
    """`tiny_vocos(causal, upsample=1, phase=False, **decoder keys)`: the `model:` dict of a tiny vocos codec."""
    return _tiny_vocos


def _snac_release(seed: int = 0, **config: Any) -> tuple[torch.nn.Module, dict[str, bytes]]:
    snac = pytest.importorskip("snac")
    config = {**SNAC_24KHZ, **config}
    torch.manual_seed(seed)
    ref = snac.SNAC(**config).eval()
    buf = io.BytesIO()
    torch.save(ref.state_dict(), buf)
    return ref, {"config.json": json.dumps(config).encode(), "pytorch_model.bin": buf.getvalue()}


@pytest.fixture(scope="session")
def snac_release() -> Callable[..., tuple[torch.nn.Module, dict[str, bytes]]]:
    """`snac_release(seed=0, **config)`: a random-init reference `snac.SNAC` (SNAC 24 kHz's config, `config`
    changing some keys) and its files as hubertsiuzdak/snac_24khz lays them out (skips without `snac`)."""
    return _snac_release
