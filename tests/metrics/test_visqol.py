"""ViSQOL speech (16 kHz) and audio (48 kHz) modes: identical signals at the top of the scale, noise at the bottom."""

from __future__ import annotations

import numpy as np
import pytest

from codeckit.metrics.visqol import visqol_audio, visqol_speech


@pytest.mark.slow
def test_visqol_identical_and_noise(speech):
    x = speech[:16000]
    noise = np.random.default_rng(0).standard_normal(len(x)) * 0.1
    assert visqol_speech(x, x, 16000) == pytest.approx(5.0, abs=0.01)
    assert visqol_speech(x, noise, 16000) < 1.5
    assert visqol_audio(x, x, 16000) > 4.7  # resampled to 48 kHz; the audio-mode model's ceiling is about 4.73
    assert visqol_audio(x, noise, 16000) < 1.5
