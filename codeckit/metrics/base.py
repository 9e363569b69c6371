"""What every metric shares: its error type and the conversion of its inputs to mono float64 arrays."""

from __future__ import annotations

import numpy as np
import torch

from codeckit.audio import resample
from codeckit.errors import CodeckitError


class MetricError(CodeckitError, RuntimeError):
    """A metric that could not be computed; the message says why (never replaced by a default score)."""


def as_mono(audio, name: str = "audio") -> np.ndarray:
    """A 1-D float64 array from `(samples,)`, `(1, samples)` or `(1, 1, samples)` audio."""
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    x = np.asarray(audio)
    if x.ndim > 1 and all(d == 1 for d in x.shape[:-1]):
        x = x.reshape(-1)
    if x.ndim != 1:
        raise MetricError(f"{name}: metrics take one mono signal, got shape {tuple(np.shape(audio))}")
    if x.size == 0:
        raise MetricError(f"{name}: empty signal")
    if not np.isfinite(x).all():
        raise MetricError(f"{name}: signal contains NaN or Inf")
    return x.astype(np.float64, copy=False)


def at_rate(x: np.ndarray, sample_rate: int, target: int) -> np.ndarray:
    """`x` resampled (soxr, via codeckit.audio.resample) from `sample_rate` to `target`, as float64."""
    if sample_rate == target:
        return x
    return resample(x[None].astype(np.float32), sample_rate, target)[0].numpy().astype(np.float64)


def same_length(reference: np.ndarray, degraded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both signals cut to the shorter length (inputs are expected to be aligned already)."""
    n = min(len(reference), len(degraded))
    return reference[:n], degraded[:n]
