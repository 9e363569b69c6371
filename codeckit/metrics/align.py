"""Time alignment: remove a codec's delay before scoring, and estimate that delay when a codec declares none.

Sample-wise metrics (SI-SDR, STOI, spectral distances) punish a constant delay as if it were
distortion, so the degraded signal is shifted back by the codec's delay first. A codec's delay is a
property of the codec, not of a file: the leaderboard uses the delay a codec declares, and otherwise
one delay estimated over the whole set (`estimate_common_delay`). A waveform cross-correlation is
meaningless on codecs whose output phase does not follow the input (neural and parametric codecs):
its peak lands hundreds of milliseconds away from the true delay, per file and even summed over a set.
Their delay is found on band envelopes instead, which keep timing but not phase.
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

    For one pair whose codec is unknown (waveform only); the leaderboard estimates one delay per codec instead.
    """
    ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
    if not np.any(ref) or not np.any(deg):
        raise MetricError("cannot estimate a delay: the reference or the degraded signal is all zeros")
    lags, corr = _correlation(ref, deg, int(round(max_delay_s * sample_rate)))
    return int(lags[np.argmax(corr)])


class DelayEstimate(NamedTuple):
    """A set-wide delay estimate: the lag, what it was found on, and the mean normalized correlation there."""

    lag: int  # samples the degraded signals lag the references
    method: str  # "waveform" (phase-coherent codecs, sample-exact) or "envelope" (about 1 ms)
    strength: float  # mean over files of the normalized correlation at `lag` (1 = identical up to gain)


WAVEFORM_MIN_STRENGTH = 0.5  # below this the waveforms do not share phase and the envelopes decide
ENVELOPE_CUTOFF_HZ = 40.0


def _bands(sample_rate: int) -> list[tuple[float, float]]:
    """Four speech bands, the last one up to 0.45 of the sample rate."""
    edges = [50.0, 500.0, 1500.0, 3000.0, 0.45 * sample_rate]
    return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def band_envelopes(x: np.ndarray, sample_rate: int) -> list[np.ndarray]:
    """Zero-phase amplitude envelopes (40 Hz) of `x` in each band of `_bands`, mean removed."""
    smooth = signal.butter(2, ENVELOPE_CUTOFF_HZ, fs=sample_rate, output="sos")
    out = []
    for lo, hi in _bands(sample_rate):
        band = signal.sosfiltfilt(signal.butter(4, [lo, hi], btype="band", fs=sample_rate, output="sos"), x)
        env = signal.sosfiltfilt(smooth, np.abs(band))
        out.append(env - env.mean())
    return out


def estimate_common_delay(pairs: Iterable[tuple], sample_rate: int, max_delay_s: float = 0.25) -> DelayEstimate:
    """One delay for a whole set of (reference, degraded) pairs at `sample_rate`, within +-max_delay_s.

    Each pair's cross-correlation is normalized by the pair's energies, so every file weighs the same, and
    the curves are summed before taking the peak: bogus per-file peaks average out, while the codec's true
    delay adds up on every file. Waveforms are used where they correlate (mean peak >= 0.5: the codec keeps
    phase), else the band envelopes of `band_envelopes`, summed over bands.
    """
    max_lag = int(round(max_delay_s * sample_rate))
    wave, env, n = np.zeros(2 * max_lag + 1), np.zeros(2 * max_lag + 1), 0
    for reference, degraded in pairs:
        ref, deg = as_mono(reference, "reference"), as_mono(degraded, "degraded")
        if not np.any(ref) or not np.any(deg):
            continue  # a silent file carries no timing information
        lags, corr = _correlation(ref, deg, max_lag)
        wave += corr
        bands = list(zip(band_envelopes(ref, sample_rate), band_envelopes(deg, sample_rate)))
        env += sum(_correlation(r, d, max_lag)[1] for r, d in bands if np.any(r) and np.any(d)) / len(bands)
        n += 1
    if n == 0:
        raise MetricError("cannot estimate a delay: every reference or degraded signal is all zeros")
    if wave.max() / n >= WAVEFORM_MIN_STRENGTH:
        return DelayEstimate(int(lags[np.argmax(wave)]), "waveform", float(wave.max() / n))
    return DelayEstimate(int(lags[np.argmax(env)]), "envelope", float(env.max() / n))


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
