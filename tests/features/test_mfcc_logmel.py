"""The MFCC and log-mel encoders: documented shapes and rates, and parity with a plain numpy transcription of
Kaldi's `compute-mfcc-feats` (frame loop, rfft, mel triangles, scipy's orthonormal DCT-II, lifter) and of
torchaudio's `compute_deltas`, over frames centred on each hop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.fft import dct

from codeckit.errors import ConfigError
from codeckit.registry import ENCODERS

SR = 16000


def _audio(seconds: float, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t) + 0.02 * rng.standard_normal(t.shape)
    return torch.from_numpy(x.astype(np.float32))[None, None]


def _frames(x: np.ndarray, win: int, hop: int) -> np.ndarray:
    """Frames of `win` samples centred on each hop: (win - hop) // 2 + ... zero padding as the encoder pads."""
    total = win - hop
    left = total - total // 2
    n = -(-len(x) // hop)
    padded = np.concatenate([np.zeros(left), x, np.zeros(total // 2 + n * hop - len(x))])
    return np.stack([padded[i * hop : i * hop + win] for i in range(n)])


def _kaldi_mel(n_mels: int, n_fft: int, low: float, high: float) -> np.ndarray:
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    edges = np.linspace(mel(low), mel(high), n_mels + 2)
    bins = mel(np.arange(n_fft // 2 + 1) * SR / n_fft)
    out = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        left, centre, right = edges[m : m + 3]
        for j, b in enumerate(bins):
            if left < b < right:
                out[m, j] = (b - left) / (centre - left) if b <= centre else (right - b) / (right - centre)
    return out


def _deltas(c: np.ndarray) -> np.ndarray:
    padded = np.concatenate([c[:, :1], c[:, :1], c, c[:, -1:], c[:, -1:]], axis=1)
    t = c.shape[1]
    return sum(n * (padded[:, 2 + n : 2 + n + t] - padded[:, 2 - n : 2 - n + t]) for n in (1, 2)) / 10.0


def reference_mfcc(x: np.ndarray) -> np.ndarray:
    """Kaldi MFCC (povey window, pre-emphasis 0.97, 23 mels from 20 Hz, 13 ceps, lifter 22) + deltas: (39, T)."""
    frames = _frames(x.astype(np.float64), 400, 160)
    frames = frames - frames.mean(1, keepdims=True)
    frames = np.concatenate([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], axis=1)
    frames = frames * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 399)) ** 0.85
    power = np.abs(np.fft.rfft(frames, 512)) ** 2
    logmel = np.log(np.maximum(power @ _kaldi_mel(23, 512, 20.0, SR / 2).T, np.finfo(np.float32).eps))
    ceps = dct(logmel, type=2, norm="ortho", axis=1)[:, :13]
    ceps = ceps * (1 + 11.0 * np.sin(np.pi * np.arange(13) / 22))
    c = ceps.T
    d = _deltas(c)
    return np.concatenate([c, d, _deltas(d)])


def test_mfcc_has_39_channels_at_100_hz_and_no_parameters(one_thread):
    enc = ENCODERS.build({"name": "mfcc"})
    assert enc.hop_length == 160 and enc.dim == 39 and not list(enc.parameters()) and not enc.state_dict()
    for n in (SR, SR // 2 + 3):
        feats = enc(_audio(n / SR))
        assert feats.shape == (1, 39, -(-n // 160)) and feats.dtype == torch.float32


def test_mfcc_equals_numpy_kaldi_transcription(one_thread):
    x = _audio(0.5)
    ours = ENCODERS.build({"name": "mfcc"})(x)[0].double().numpy()
    ref = reference_mfcc(x[0, 0].numpy())
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours[:13], ref[:13], atol=2e-3, rtol=1e-3)
    np.testing.assert_allclose(ours, ref, atol=5e-3, rtol=1e-3)


def test_logmel_shape_and_floor(one_thread):
    enc = ENCODERS.build({"name": "logmel", "n_mels": 40})
    feats = enc(torch.zeros(2, 1, 1600))
    assert feats.shape == (2, 40, 10) and torch.allclose(feats, torch.full_like(feats, np.log(1e-5)))
    x = _audio(0.25)
    ref = np.log(np.maximum(np.abs(np.fft.rfft(_frames(x[0, 0].double().numpy(), 400, 160)
                                                * np.hanning(400), 512)) ** 2 @ _kaldi_mel(40, 512, 0.0, SR / 2).T,
                            1e-5)).T  # fmt: skip
    np.testing.assert_allclose(enc(x)[0].double().numpy(), ref, atol=2e-3, rtol=1e-3)


@pytest.mark.parametrize(
    "spec, key",
    [({"name": "mfcc", "n_ceps": 30}, "n_ceps"), ({"name": "mfcc", "window": "kaiser"}, "window"),
     ({"name": "logmel", "hop_length": 500}, "hop_length"), ({"name": "mfcc", "preemphasis": 1.5}, "preemphasis")],
)  # fmt: skip
def test_bad_options_raise_config_error_naming_them(spec, key):
    with pytest.raises(ConfigError, match=key):
        ENCODERS.build(spec)


def test_stereo_input_is_refused():
    with pytest.raises(ValueError, match=r"mono audio \(batch, 1, samples\)"):
        ENCODERS.build({"name": "mfcc"})(torch.zeros(1, 2, 1600))
