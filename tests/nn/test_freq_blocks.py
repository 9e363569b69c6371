"""FreqCodec encoder / decoder: STFT features, exact lengths for other STFT sizes, bad input."""

from __future__ import annotations

import pytest
import torch

from codeckit.nn.freqcodec import FreqDecoder, FreqEncoder


@pytest.mark.parametrize(
    "n_fft,hop,ratios",
    [(512, 160, [[4, 1], [4, 1], [4, 2], [4, 1]]), (256, 64, [[2, 2], [4, 1], [3, 2]])],
)
def test_lengths_and_frequency_mirror(n_fft, hop, ratios):
    torch.manual_seed(0)
    channels = [4] * (len(ratios) + 1)
    enc = FreqEncoder(n_fft=n_fft, hop=hop, channels=channels, ratios=ratios, dim=16)
    dec = FreqDecoder(n_fft=n_fft, hop=hop, channels=channels, ratios=ratios, dim=16)
    assert enc.hop_length == dec.hop_length
    audio = torch.randn(2, 1, enc.hop_length * 6) * 0.1
    feats = enc.features(audio)
    assert feats.shape == (2, 2, n_fft // 2 + 1, 6 * enc.hop_length // hop)
    z = enc(audio)
    assert z.shape == (2, 16, 6)
    y = dec(z)
    assert y.shape == audio.shape and torch.isfinite(y).all()


def test_phase_and_magnitude_features():
    enc = FreqEncoder(channels=[2, 2, 2, 2, 2], dim=4)
    sr = 16000
    t = torch.arange(3200) / sr
    tone = (0.5 * torch.sin(2 * torch.pi * 1000 * t)).view(1, 1, -1)
    logmag, phase = enc.features(tone)[0]
    assert logmag.mean(-1).argmax().item() == 32  # 1000 Hz is bin 1000 / (16000 / 512)
    assert phase.abs().max() <= torch.pi + 1e-6


def test_bad_input_and_config():
    enc = FreqEncoder(channels=[2, 2, 2, 2, 2], dim=4)
    with pytest.raises(ValueError, match="mono"):
        enc(torch.zeros(1, 2, 640))
    with pytest.raises(ValueError, match="channels needs 5"):
        FreqEncoder(channels=[2, 2, 2])
    with pytest.raises(ValueError, match="reduce"):
        FreqEncoder(n_fft=64, hop=16, channels=[2] * 5, ratios=[[8, 1]] * 4)
