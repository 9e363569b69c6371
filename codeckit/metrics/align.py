"""Time alignment: remove a codec's delay before scoring, and estimate that delay when a codec declares none.

Sample-wise metrics (SI-SDR, STOI, spectral distances) punish a constant delay as if it were
distortion, so the degraded signal is shifted back by the codec's delay first. A codec's delay is a
property of the codec, not of a file: the leaderboard uses the delay a codec declares, and otherwise
one delay estimated over the whole set (`estimate_common_delay`). A per-file cross-correlation peak is
unreliable on codecs whose output phase does not follow the input (neural and parametric codecs): it
can land hundreds of milliseconds away from the true delay.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from scipy import signal

from codeckit.metrics.base import MetricError, as_mono


class Aligned(NamedTuple):
    """Reference and degraded signals cut to their overlap after removing `delay` samples."""

    reference: np.ndarray
    degraded: np.ndarray
    delay: int  # samples the degraded signal lags the reference (negative: it leads)


def _correlation(ref: np.ndarray, deg: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Normalized cross-correlation of `deg` against `ref` at lags -max_lag..max_lag (lags, values)."""
    corr = signal.correlate(deg, ref, mode="full", method="fft")
    lags = signal.correlation_lags(len(deg), len(ref), mode="full")
    keep = np.abs(lags) <= max_lag
    full = np.zeros(2 * max_lag + 1)
    full[lags[keep] + max_lag] = corr[keep]
    norm = np.linalg.norm(ref) * np.linalg.norm(deg)
    return np.arange(-max_lag, max_lag + 1), full / norm


def estimate_delay(reference, degraded, sample_rate: int, max_delay_s: float = 0.5) -> int:
    """Samples by which `degraded` lags `reference` (argmax of their cross-correlation within +-max_delay_s).

    For one pair whose codec is unknown; the leaderboard estimates one delay per codec instead.
    """
    return estimate_common_delay([(reference, degraded)], sample_rate, max_delay_s)


def estimate_common_delay(pairs: Iterable[tuple], sample_rate: int, max_delay_s: float = 0.25) -> int:
    """One delay (samples) for a whole set of (reference, degraded) pairs at `sample_rate`.

    Each pair's cross-correlation is normalized by the pair's energies, so every file weighs the same,
    and the curves are summed before taking the peak within +-max_delay_s: bogus per-file peaks average
    out, while the codec's true delay adds up on every file.
    """
    max_lag = int(round(max_delay_s * sample_rate))
    total, n = np.zeros(2 * max_lag + 1), 0
    for reference, degraded in pairs:
        ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
        if not np.any(ref) or not np.any(deg):
            continue  # a silent file carries no timing information
        lags, corr = _correlation(ref, deg, max_lag)
        total += corr
        n += 1
    if n == 0:
        raise MetricError("cannot estimate a delay: every reference or degraded signal is all zeros")
    return int(lags[np.argmax(total)])


def shift(reference, degraded, delay: int) -> Aligned:
    """Remove `delay` samples of lag from `degraded` and cut both signals to their common length."""
    ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
    if delay >= 0:
        deg = deg[delay:]
    else:
        ref = ref[-delay:]
    n = min(len(ref), len(deg))
    if n == 0:
        raise MetricError(f"no overlap left after removing a delay of {delay} samples")
    return Aligned(ref[:n], deg[:n], int(delay))


def align(reference, degraded, sample_rate: int, max_delay_s: float = 0.5) -> Aligned:
    """Remove the delay estimated on this one pair (see `estimate_delay`) and cut both to the same length."""
    return shift(reference, degraded, estimate_delay(reference, degraded, sample_rate, max_delay_s))
