"""The shipped EnCodec configs: build, forward and backward on 1 s, exact lengths, causality, batches of
unequal lengths, and a few CPU training steps of the tiny one."""

from __future__ import annotations

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.configs import model_config

NAMES = ["encodec_24khz", "encodec_tiny"]


pytestmark = pytest.mark.usefixtures("one_thread")


def _codec(name: str):
    torch.manual_seed(0)
    return build_codec(model_config(name)["model"])


@pytest.mark.parametrize("name", [pytest.param("encodec_24khz", marks=pytest.mark.slow), "encodec_tiny"])
def test_forward_backward_one_second(name):
    codec = _codec(name).train()
    sr = codec.sample_rate
    audio = (torch.rand(1, 1, sr) - 0.5) * 0.5
    out = codec(audio)
    assert out.audio.shape == audio.shape and torch.isfinite(out.audio).all()
    assert [c.shape[-1] for c in out.codes] == codec.n_frames(sr)
    loss = (out.audio - audio).abs().mean() + sum(out.losses.values())
    loss.backward()
    first = next(iter(codec.encoder.parameters()))
    last = list(codec.decoder.parameters())[-1]
    assert first.grad is not None and torch.isfinite(first.grad).all() and first.grad.abs().sum() > 0
    assert last.grad is not None and last.grad.abs().sum() > 0
    assert bool(codec.quantizer.levels[0].inited.item())  # k-means ran on the first training batch


def test_encodec_24khz_declares_its_bandwidths():
    codec = _codec("encodec_24khz")
    assert codec.hop_length == 320 and codec.frame_rates[0] == 75.0 and codec.n_levels == 32
    assert codec.codebook_sizes == [1024] * 32
    assert [codec.bitrate(n) for n in (2, 4, 8, 16, 32)] == [1500.0, 3000.0, 6000.0, 12000.0, 24000.0]


@pytest.mark.parametrize("length", [1, 319, 321, 1601])
def test_exact_lengths_for_odd_inputs(length):
    codec = _codec("encodec_tiny").eval()
    audio = 0.3 * torch.randn(1, 1, length)
    with torch.no_grad():
        codes = codec.encode(audio)
        out = codec.decode(codes, length=length)
    assert [c.shape[-1] for c in codes] == [-(-length // 320)] * 4 == codec.n_frames(length)
    assert out.shape == (1, 1, length)


@pytest.mark.parametrize("name", NAMES)
def test_causal_outputs_ignore_future_input(name):
    """Perturbing audio after sample t changes no latent, code or decoded sample before t."""
    codec = _codec(name).eval()
    hop = codec.hop_length
    audio = 0.3 * torch.randn(1, 1, hop * 12)
    cut = hop * 9
    other = audio.clone()
    other[..., cut:] = 0.3 * torch.randn(1, 1, hop * 3)
    with torch.no_grad():
        z, z2 = codec.encoder(audio), codec.encoder(other)
        assert torch.equal(z[..., :9], z2[..., :9]) and not torch.equal(z[..., 9:], z2[..., 9:])
        codes, codes2 = codec.quantizer.encode(z, 4), codec.quantizer.encode(z2, 4)
        assert all(torch.equal(a[..., :9], b[..., :9]) for a, b in zip(codes, codes2))
        y, y2 = codec.decoder(z), codec.decoder(z2)  # the decoder on its own, from continuous latents
    assert torch.equal(y[..., :cut], y2[..., :cut]) and not torch.equal(y[..., cut:], y2[..., cut:])


def test_unequal_batch_equals_per_item_runs():
    codec = _codec("encodec_tiny").eval()
    lengths = [1000, 640, 1601]
    audio = 0.3 * torch.randn(3, 1, max(lengths))
    with torch.no_grad():
        codes = codec.encode(audio, lengths=lengths)
        out = codec.decode(codes, lengths=lengths)
        for i, n in enumerate(lengths):
            alone = codec.encode(audio[i : i + 1, :, :n])
            frames = alone[0].shape[-1]
            assert all(torch.equal(c[i, :frames], a[0]) for c, a in zip(codes, alone))
            assert torch.allclose(out[i, :, :n], codec.decode(alone, length=n)[0], atol=1e-5)
            assert not out[i, :, n:].any()


def test_tiny_learns_on_cpu():
    codec = _codec("encodec_tiny").train()
    assert 300_000 < sum(p.numel() for p in codec.parameters()) < 1_000_000
    sr = codec.sample_rate
    t = torch.arange(sr // 8) / sr
    audio = (0.4 * torch.sin(2 * torch.pi * 220 * t) + 0.2 * torch.sin(2 * torch.pi * 660 * t)).view(1, 1, -1)
    audio = audio.repeat(2, 1, 1)
    opt = torch.optim.Adam(codec.parameters(), lr=1e-2)
    errors = []
    for _ in range(25):
        out = codec(audio, n_quantizers=4)
        err = (out.audio - audio).abs().mean()
        loss = err + sum(out.losses.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        errors.append(err.item())
    assert min(errors[-3:]) < 0.8 * errors[0]
