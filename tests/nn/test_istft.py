"""ISTFT and ISTFT head: parity with torch.istft, matmul == FFT frames, causal streaming, head clipping, errors."""

from __future__ import annotations

import pytest
import torch

from codeckit.errors import ConfigError
from codeckit.nn.istft import ISTFT, ISTFTHead
from codeckit.nn.streaming import StreamingError, streaming

SIZES = [(1280, 320), (640, 160), (64, 16), (50, 20)]  # the last: hop does not divide n_fft


pytestmark = pytest.mark.usefixtures("one_thread")


def _spectrum(n_fft: int, frames: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(2, n_fft // 2 + 1, frames, dtype=torch.complex64, generator=gen)


def _time_major(spec: torch.Tensor) -> torch.Tensor:
    """Complex (B, F, T) -> (B, T, 2F), real parts then imaginary parts: the ISTFT's input layout."""
    return torch.cat([spec.real, spec.imag], dim=1).transpose(1, 2)


def _reference(spec: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    return torch.istft(spec, n_fft, hop, window=torch.hann_window(n_fft), center=True)


@pytest.mark.parametrize("n_fft,hop", SIZES)
def test_centred_istft_equals_torch_istft(n_fft, hop):
    """Same samples as torch.istft(center=True), which trims n_fft / 2 where "same" trims (n_fft - hop) / 2."""
    spec = _spectrum(n_fft, 12)
    out = ISTFT(n_fft, hop)(_time_major(spec))
    assert out.shape == (2, 1, 12 * hop) and out.dtype == torch.float32
    ref = _reference(spec, n_fft, hop)
    shift = n_fft // 2 - (n_fft - hop) // 2
    assert (out[:, 0, shift : shift + ref.shape[-1]] - ref).abs().max() <= 1e-5


@pytest.mark.parametrize("n_fft,hop", SIZES)
def test_causal_istft_is_torch_istft_in_steady_state(n_fft, hop):
    """Causal frame t starts at output sample t * hop; past the first r - 1 blocks the envelope is the full one."""
    frames = 12
    istft = ISTFT(n_fft, hop, causal=True)
    spec = _spectrum(n_fft, frames, seed=1)
    out = istft(_time_major(spec))[:, 0]
    assert out.shape == (2, frames * hop)
    ref = _reference(spec, n_fft, hop)  # ref[m] is the overlap-add at sample m + n_fft // 2
    start = istft.tail
    assert (out[:, start:] - ref[:, start - n_fft // 2 : frames * hop - n_fft // 2]).abs().max() <= 1e-5


@pytest.mark.parametrize("n_fft,hop", [(1280, 320), (49, 20)])
def test_matmul_frames_equal_fft_frames(n_fft, hop):
    """The ONNX path (a DFT matmul) and the training path (irfft) compute the same windowed frames."""
    istft = ISTFT(n_fft, hop)
    spectrum = _time_major(_spectrum(n_fft, 5))
    assert (istft.frames_matmul(spectrum) - istft.frames_fft(spectrum)).abs().max() <= 1e-5


@pytest.mark.parametrize("n_fft,hop", [(1280, 320), (50, 20)])
def test_causal_istft_streams_like_offline(n_fft, hop):
    istft = ISTFT(n_fft, hop, causal=True)
    spectrum = _time_major(_spectrum(n_fft, 20, seed=2))
    offline = istft(spectrum)
    with streaming(istft, 2):
        (state,) = istft.streaming_state.values()
        assert state.shape == (2, istft.tail) and istft.tail >= n_fft - hop
        parts = [istft(spectrum[:, a:b]) for a, b in [(0, 1), (1, 4), (4, 5), (5, 13), (13, 20)]]
    assert (torch.cat(parts, dim=-1) - offline).abs().max() <= 1e-5


def test_centred_istft_refuses_to_stream():
    with pytest.raises(StreamingError):
        with streaming(ISTFT(64, 16), 1):
            pass


@pytest.mark.parametrize("causal", [False, True])
def test_head_shapes_gradients_and_magnitude_clip(causal):
    torch.manual_seed(0)
    head = ISTFTHead(16, 64, 16, causal=causal)
    x = torch.randn(2, 16, 9, requires_grad=True)
    y = head(x)
    assert y.shape == (2, 1, 9 * 16) and torch.isfinite(y).all()
    y.square().sum().backward()
    assert x.grad is not None and head.out.weight.grad.abs().sum() > 0
    with torch.no_grad():  # a huge log-magnitude is clipped to 1e2 (finite output, finite zero gradient)
        head.out.bias[: head.istft.n_bins] = 1e4
    x.grad = None
    y = head(x)
    assert torch.isfinite(y).all() and y.abs().max() <= 1e2 * 2
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"n_fft": 0, "hop_length": 4}, "n_fft"),
        ({"n_fft": 64, "hop_length": 40}, "n_fft"),
        ({"n_fft": 64, "hop_length": 1.5}, "hop_length"),
    ],
)
def test_bad_values_raise_config_error(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        ISTFT(**kwargs)


def test_head_under_bfloat16_autocast():
    """Autocast hands the ISTFT a bfloat16 spectrum; the inverse DFT runs in float32 (no bf16 complex type)."""
    torch.manual_seed(0)
    head = ISTFTHead(16, 64, 16)
    x = torch.randn(2, 16, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = head(x)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    assert (y - head(x)).abs().max() < 0.05 * head(x).abs().max()
