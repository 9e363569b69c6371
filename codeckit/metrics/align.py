"""Time alignment: estimate a codec's delay by cross-correlation and remove it before scoring.

Sample-wise metrics (SI-SDR, STOI, spectral distances) punish a constant delay as if it were
distortion; a codec's latency is reported separately instead.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import signal

from codeckit.metrics.base import MetricError, as_mono


class Aligned(NamedTuple):
    """Reference and degraded signals cut to their overlap after removing `delay` samples."""

    reference: np.ndarray
    degraded: np.ndarray
    delay: int  # samples the degraded signal lags the reference (negative: it leads)


def estimate_delay(reference, degraded, sample_rate: int, max_delay_s: float = 0.5) -> int:
    """Samples by which `degraded` lags `reference` (argmax of their cross-correlation within +-max_delay_s)."""
    ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
    if not np.any(ref) or not np.any(deg):
        raise MetricError("cannot estimate a delay: the reference or the degraded signal is all zeros")
    max_lag = int(round(max_delay_s * sample_rate))
    corr = signal.correlate(deg, ref, mode="full", method="fft")
    lags = signal.correlation_lags(len(deg), len(ref), mode="full")
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(corr[keep])])


def align(reference, degraded, sample_rate: int, max_delay_s: float = 0.5) -> Aligned:
    """Remove the estimated delay of `degraded` and cut both signals to the same length."""
    ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
    delay = estimate_delay(ref, deg, sample_rate, max_delay_s)
    if delay >= 0:
        deg = deg[delay:]
    else:
        ref = ref[-delay:]
    n = min(len(ref), len(deg))
    if n == 0:
        raise MetricError(f"no overlap left after removing a delay of {delay} samples")
    return Aligned(ref[:n], deg[:n], delay)
