"""Token stability tests tell a codec built to be stable from one that is not, and reject what they cannot measure."""

from __future__ import annotations

import numpy as np
import pytest

from codeckit.metrics.base import MetricError
from codeckit.metrics.stability import context_instability, noise_instability, shift_instability

SR, HOP = 16000, 160


def _frames(x: np.ndarray) -> np.ndarray:
    n = -(-len(x) // HOP)
    return np.pad(x, (0, n * HOP - len(x))).reshape(n, HOP)


def stable_encoder(x: np.ndarray) -> list[np.ndarray]:
    """Identity-like and local: each frame's RMS on a coarse grid, two levels (the second one coarser)."""
    rms = np.sqrt(np.mean(_frames(x) ** 2, axis=1))
    return [np.round(rms * 10).astype(np.int64), np.round(rms[::2] * 4).astype(np.int64)]


def unstable_encoder(x: np.ndarray) -> list[np.ndarray]:
    """Fine codes of one sample per frame, scaled by the whole signal's peak: moves with any change."""
    return [np.floor(_frames(x)[:, 7] / np.abs(x).max() * 1e5).astype(np.int64)]


@pytest.fixture
def tone() -> np.ndarray:
    """A steady 250 Hz tone (a hop holds 5 half periods, so a frame's RMS
    does not depend on where it starts) that gets louder by a step each second."""
    t = np.arange(4 * SR) / SR
    level = 0.3 + 0.15 * np.floor(t)
    return (level * np.sin(2 * np.pi * 250 * t)).astype(np.float32)


def test_stable_codec_scores_zero(tone):
    assert shift_instability(stable_encoder, tone, HOP) < 0.015  # only the frames straddling 3 loudness steps move
    assert context_instability(lambda x: stable_encoder(x)[:1], tone, [HOP], 2 * HOP, SR) == 0.0
    assert noise_instability(stable_encoder, tone) == 0.0


def test_unstable_codec_scores_high(tone):
    assert shift_instability(unstable_encoder, tone, HOP) > 0.9
    assert context_instability(unstable_encoder, tone, [HOP], HOP, SR) > 0.9  # the segment's peak is not the file's
    assert noise_instability(unstable_encoder, tone) > 0.9


def test_context_frames_line_up_across_levels(tone):
    """Two levels at hops 160 and 320: a segment cut on the 320-sample grid compares like with like."""
    assert context_instability(stable_encoder, tone, [HOP, 2 * HOP], 2 * HOP, SR) == 0.0


def test_what_cannot_be_measured_is_an_error(tone):
    with pytest.raises(MetricError, match="too short for the context test"):
        context_instability(stable_encoder, tone[:8000], [HOP], HOP, SR)
    with pytest.raises(MetricError, match="silent"):
        noise_instability(stable_encoder, np.zeros(SR, np.float32))
    with pytest.raises(MetricError, match="fraction of a hop"):
        shift_instability(stable_encoder, tone, HOP, fractions=(1.0,))
