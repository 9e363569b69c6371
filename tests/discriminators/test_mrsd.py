"""The `mrsd` discriminator (Vocos magnitude spectrograms): outputs, gradients, losses, short audio, config errors."""

from __future__ import annotations

import pytest
import torch

from codeckit.discriminators import build_discriminators
from codeckit.errors import ConfigError
from codeckit.losses.adversarial import FeatureMatchingLoss, HingeLoss

TINY = {"name": "mrsd", "resolutions": [[256, 64, 256], [128, 32, 128]], "filters": 4}


pytestmark = pytest.mark.usefixtures("one_thread")


def test_outputs_gradients_and_losses():
    torch.manual_seed(0)
    d = build_discriminators([TINY])
    audio = torch.randn(2, 1, 2048, requires_grad=True)
    out = d(audio)
    assert len(out) == 2
    for logits, feats in out:
        assert logits.dim() == 2 and logits.shape[0] == 2 and torch.isfinite(logits).all()
        assert len(feats) == 6 and all(f.shape[0] == 2 and f.dtype == torch.float32 for f in feats)
    # 2048 samples at n_fft 256, hop 64: 129 bins x 33 frames; strides (2,2)(2,1)(2,2)(2,1)(2,2) -> 5 x 5
    assert out[0][1][-1].shape == (2, 1, 5, 5)
    real, fake = d(torch.randn(2, 1, 2048)), out
    loss = HingeLoss().generator(fake) + FeatureMatchingLoss()(real, fake)
    loss.backward()
    assert audio.grad is not None and audio.grad.abs().sum() > 0
    assert all(p.grad is not None for p in d.parameters())


def test_stereo_and_short_audio():
    d = build_discriminators([TINY], channels=2)
    out = d(torch.randn(1, 2, 50))  # shorter than half the largest n_fft: zero-padded
    assert len(out) == 2 and all(lg.numel() > 0 for lg, _ in out)


def test_default_resolutions_are_vocos():
    d = build_discriminators(["mrsd"])
    res = [(m.n_fft, m.hop_length, m.win_length) for m in d.discriminators[0].discriminators]
    assert res == [(1024, 256, 1024), (2048, 512, 2048), (512, 128, 512)]


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"resolutions": []}, "resolutions"),
        ({"resolutions": [[256, 64]]}, "resolutions"),
        ({"resolutions": [[256, 300, 256]]}, "resolutions"),
        ({"filters": 0}, "filters"),
        ({"n_ffts": [256]}, "n_ffts"),
    ],
)
def test_bad_values_raise_config_error(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        build_discriminators([{"name": "mrsd", **kwargs}])
