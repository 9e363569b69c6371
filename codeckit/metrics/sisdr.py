"""Scale-invariant signal-to-distortion ratio (Le Roux et al. 2019), in dB."""

from __future__ import annotations

import numpy as np

from codeckit.metrics.base import MetricError, as_mono, same_length

_EPS = 1e-12  # bounds the score of identical signals (about 10*log10(energy / eps) dB) instead of inf


def si_sdr(reference, degraded, sample_rate: int | None = None) -> float:
    """SI-SDR of `degraded` against `reference` in dB (higher is better); both zero-meaned first."""
    ref, deg = same_length(as_mono(reference, "reference"), as_mono(degraded, "degraded"))
    ref = ref - ref.mean()
    deg = deg - deg.mean()
    energy = float(np.dot(ref, ref))
    if energy <= _EPS:
        raise MetricError("SI-SDR is undefined for a silent reference")
    target = (np.dot(deg, ref) / energy) * ref
    noise = deg - target
    return float(10 * np.log10((np.dot(target, target) + _EPS) / (np.dot(noise, noise) + _EPS)))
