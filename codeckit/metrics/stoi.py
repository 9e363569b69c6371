"""STOI and extended STOI (Taal et al. 2011; Jensen & Taal 2016) through `pystoi`.

pystoi resamples to 10 kHz itself. When too few speech frames remain it warns and returns 1e-5;
here that warning is an error, so no made-up score is reported.
"""

from __future__ import annotations

import warnings

from codeckit.metrics.base import MetricError, as_mono, same_length


def _stoi(reference, degraded, sample_rate: int, extended: bool) -> float:
    from pystoi import stoi as stoi_fn

    ref, deg = same_length(as_mono(reference, "reference"), as_mono(degraded, "degraded"))
    name = "ESTOI" if extended else "STOI"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return float(stoi_fn(ref, deg, sample_rate, extended=extended))
        except RuntimeWarning as e:
            raise MetricError(f"{name} failed: {e}") from None
        except Exception as e:
            raise MetricError(f"{name} failed: {type(e).__name__}: {e}") from None


def stoi(reference, degraded, sample_rate: int) -> float:
    """Short-time objective intelligibility, 0..1 (higher is better)."""
    return _stoi(reference, degraded, sample_rate, extended=False)


def estoi(reference, degraded, sample_rate: int) -> float:
    """Extended STOI (also sensitive to modulated noise), about 0..1 (higher is better)."""
    return _stoi(reference, degraded, sample_rate, extended=True)
