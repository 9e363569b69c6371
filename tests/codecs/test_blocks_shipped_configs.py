"""Every shipped config of the SNAC / DAC / FreqCodec families builds and trains: forward and backward on 1 s."""

from __future__ import annotations

import math

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.configs import model_config

BIG = ["snac_24khz", "snac_32khz", "snac_44khz", "dac_44khz", "freqcodec_16khz"]
TINY = ["snac_tiny", "dac_tiny", "freqcodec_tiny"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) for n in BIG] + TINY)
def test_forward_backward_one_second(name):
    torch.manual_seed(0)
    codec = build_codec(model_config(name)["model"]).train()
    for key, buf in codec.named_buffers():
        if key.endswith("inited"):  # skip first-batch k-means (the quantizers' own tests cover it; it takes seconds)
            buf.fill_(1.0)
    sr = codec.sample_rate
    audio = (torch.rand(1, 1, sr) - 0.5) * 0.5
    out = codec(audio)
    assert out.audio.shape == audio.shape and torch.isfinite(out.audio).all()
    assert [c.shape[-1] for c in out.codes] == codec.n_frames(sr)
    loss = (out.audio - audio).abs().mean() + sum(out.losses.values())
    loss.backward()
    first = next(p for p in codec.encoder.parameters())
    last = list(codec.decoder.parameters())[-1]
    assert first.grad is not None and torch.isfinite(first.grad).all() and first.grad.abs().sum() > 0
    assert last.grad is not None and last.grad.abs().sum() > 0


def log_spectrogram_l1(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of log STFT magnitudes (the spectral term codec trainers use)."""
    window = torch.hann_window(256)

    def spec(a: torch.Tensor) -> torch.Tensor:
        return torch.stft(a[:, 0], 256, 64, window=window, return_complex=True).abs().clamp_min(1e-4).log()

    return (spec(y) - spec(x)).abs().mean()


@pytest.mark.parametrize("name", TINY)
def test_tiny_models_learn_on_cpu(name):
    torch.manual_seed(0)
    codec = build_codec(model_config(name)["model"]).train()
    assert sum(p.numel() for p in codec.parameters()) < 1_500_000
    sr = codec.sample_rate
    t = torch.arange(sr // 8) / sr
    audio = (0.4 * torch.sin(2 * torch.pi * 220 * t) + 0.2 * torch.sin(2 * torch.pi * 660 * t)).view(1, 1, -1)
    audio = audio.repeat(2, 1, 1)
    opt = torch.optim.Adam(codec.parameters(), lr=3e-3)
    spectral = []
    for _ in range(15):
        out = codec(audio)
        spec = log_spectrogram_l1(out.audio, audio)
        loss = spec + (out.audio - audio).abs().mean() + sum(out.losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        spectral.append(spec.item())
    assert all(math.isfinite(v) for v in spectral)
    assert min(spectral[-3:]) < 0.75 * spectral[0]
