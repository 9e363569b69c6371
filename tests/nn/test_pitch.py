"""YIN pitch tracking: F0 of harmonic tones and a glide, voicing of noise and silence, frame count, errors."""

from __future__ import annotations

import math

import pytest
import torch

from codeckit.errors import ConfigError
from codeckit.nn.pitch import PitchScale, yin_pitch

SR, HOP = 16000, 320


def _tone(f0: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(SR * seconds)) / SR
    return 0.3 * sum(torch.sin(2 * math.pi * k * f0 * t) / k for k in range(1, 8))


@pytest.mark.parametrize("f0", [62.0, 110.0, 220.5, 347.0, 510.0])
def test_harmonic_tone_f0_within_half_a_percent(f0):
    pitch = yin_pitch(_tone(f0)[None], SR, HOP)
    assert pitch.f0.shape == pitch.voiced.shape == (1, SR // HOP)
    inner = pitch.f0[0, 2:-2]
    assert pitch.voiced[0, 2:-2].all()
    assert ((inner - f0).abs() / f0).max() < 0.005


def test_glide_is_tracked_frame_by_frame():
    f = torch.linspace(100, 300, SR)
    phase = 2 * math.pi * torch.cumsum(f / SR, 0)
    pitch = yin_pitch((torch.sin(phase) + 0.5 * torch.sin(2 * phase))[None, None], SR, HOP)
    centres = f[HOP // 2 :: HOP][: pitch.f0.shape[-1]]
    assert (pitch.f0[0, 1:-1] - centres[1:-1]).abs().max() < 3.0  # frames are centred on each hop's middle


def test_noise_and_silence_are_unvoiced_and_batch_items_independent():
    torch.manual_seed(0)
    batch = torch.stack([0.1 * torch.randn(SR), torch.zeros(SR), _tone(150.0)])
    pitch = yin_pitch(batch, SR, HOP)
    assert pitch.voiced[0].float().mean() < 0.05
    assert not pitch.voiced[1].any()
    assert pitch.voiced[2, 2:-2].all()
    alone = yin_pitch(batch[2:], SR, HOP)
    assert torch.allclose(alone.f0, pitch.f0[2:], atol=1e-4)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="mono"):
        yin_pitch(torch.zeros(1, 2, SR), SR, HOP)
    with pytest.raises(ValueError, match="batch, samples"):
        yin_pitch(torch.zeros(SR), SR, HOP)
    with pytest.raises(ConfigError, match="fmin"):
        yin_pitch(torch.zeros(1, SR), SR, HOP, fmin=600.0, fmax=500.0)


def test_pitch_scale_maps_range_to_unit_and_back():
    scale = PitchScale.checked(50.0, 550.0, 16000, "test")
    f0 = torch.tensor([50.0, 165.83, 550.0])
    u = scale.to_unit(f0)
    assert u[0].item() == pytest.approx(0.0, abs=1e-6) and u[-1].item() == pytest.approx(1.0, abs=1e-6)
    assert 0.0 < u[1].item() < 1.0
    torch.testing.assert_close(scale.from_unit(u), f0, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("fmin, fmax", [(0.0, 500.0), (300.0, 200.0), (50.0, 9000.0)])
def test_pitch_scale_rejects_bad_range_naming_owner(fmin, fmax):
    with pytest.raises(ConfigError, match="harmonic head.*fmin"):
        PitchScale.checked(fmin, fmax, 16000, "harmonic head")
