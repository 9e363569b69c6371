"""ViSQOL speech (16 kHz, lattice and polynomial MOS maps) and audio (48 kHz) modes: identical signals at the
top of the scale, noise at the bottom, and the lattice model is the one the speech metric uses."""

from __future__ import annotations

import numpy as np
import pytest

from codeckit.metrics.visqol import visqol_audio, visqol_speech, visqol_speech_polynomial


@pytest.mark.slow
def test_visqol_identical_and_noise(speech):
    x = speech[:16000]
    noise = np.random.default_rng(0).standard_normal(len(x)) * 0.1
    assert visqol_speech_polynomial(x, x, 16000) == pytest.approx(5.0, abs=0.01)  # the polynomial map's ceiling
    assert visqol_speech_polynomial(x, noise, 16000) < 1.5
    assert 4.0 < visqol_speech(x, x, 16000) < 4.9  # the lattice model tops out below 5
    assert visqol_speech(x, noise, 16000) < 1.5
    assert visqol_audio(x, x, 16000) > 4.7  # resampled to 48 kHz; the audio-mode model's ceiling is about 4.73
    assert visqol_audio(x, noise, 16000) < 1.5


@pytest.mark.slow
def test_visqol_speech_is_the_lattice_model(speech):
    """At 20 dB SNR the lattice model (C++ ViSQOL v3's default) scores far below the polynomial map."""
    x = speech[:32000]
    noisy = x + np.random.default_rng(1).standard_normal(len(x)) * np.sqrt(np.mean(x**2)) * 0.1
    lattice, poly = visqol_speech(x, noisy, 16000), visqol_speech_polynomial(x, noisy, 16000)
    assert lattice < poly - 1.0, (lattice, poly)
