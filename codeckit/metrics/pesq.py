"""PESQ (ITU-T P.862): wideband at 16 kHz (P.862.2) and narrowband at 8 kHz, through the `pesq` package.

Inputs at any other rate are resampled with soxr (codeckit.audio.resample) to the mode's rate first.
"""

from __future__ import annotations

from codeckit.metrics.base import MetricError, as_mono, at_rate, same_length

WB_RATE = 16000
NB_RATE = 8000


def _pesq(reference, degraded, sample_rate: int, rate: int, mode: str) -> float:
    import pesq as pesq_lib

    ref = at_rate(as_mono(reference, "reference"), sample_rate, rate)
    deg = at_rate(as_mono(degraded, "degraded"), sample_rate, rate)
    ref, deg = same_length(ref, deg)
    try:
        return float(pesq_lib.pesq(rate, ref, deg, mode))
    except Exception as e:  # the pesq package raises its own error types (no utterances, too short, ...)
        raise MetricError(f"PESQ-{mode.upper()} failed at {rate} Hz: {type(e).__name__}: {e}") from None


def pesq_wb(reference, degraded, sample_rate: int) -> float:
    """Wideband PESQ MOS-LQO (about 1.04 .. 4.64), computed at 16 kHz."""
    return _pesq(reference, degraded, sample_rate, WB_RATE, "wb")


def pesq_nb(reference, degraded, sample_rate: int) -> float:
    """Narrowband PESQ MOS-LQO (about 1.02 .. 4.55), computed at 8 kHz."""
    return _pesq(reference, degraded, sample_rate, NB_RATE, "nb")
