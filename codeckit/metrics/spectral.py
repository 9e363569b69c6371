"""Spectral distances with torch's own STFT: multi-scale log-mel L1 and auraloss's multi-resolution STFT.

Both are 0 for identical signals and grow with distortion (lower is better).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from codeckit.metrics.base import MetricError, as_mono, same_length

MEL_WINDOWS_S = (0.032, 0.064, 0.128)  # window lengths of the mel scales, in seconds (hop = window / 4)
N_MELS = 80
_LOG_FLOOR = 1e-5


@lru_cache(maxsize=16)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    from codeckit.losses.mel import mel_filterbank

    return mel_filterbank(sample_rate, n_fft, n_mels).double()


def _log_mel(x: torch.Tensor, sample_rate: int, n_fft: int) -> torch.Tensor:
    spec = torch.stft(
        x, n_fft, hop_length=n_fft // 4, window=torch.hann_window(n_fft, dtype=x.dtype), return_complex=True
    ).abs()
    return torch.log10((_mel_basis(sample_rate, n_fft, N_MELS) @ spec).clamp_min(_LOG_FLOOR))


def _pair(reference, degraded) -> tuple[torch.Tensor, torch.Tensor]:
    ref, deg = same_length(as_mono(reference, "reference"), as_mono(degraded, "degraded"))
    return torch.from_numpy(ref.copy()), torch.from_numpy(deg.copy())


def mel_distance(reference, degraded, sample_rate: int) -> float:
    """Mean absolute difference of log10 mel magnitudes (80 bands), averaged over 32/64/128 ms windows."""
    ref, deg = _pair(reference, degraded)
    total = 0.0
    for seconds in MEL_WINDOWS_S:
        n_fft = int(round(seconds * sample_rate))
        if len(ref) < n_fft:
            raise MetricError(f"mel distance: signal of {len(ref)} samples is shorter than a {n_fft}-sample window")
        total += float((_log_mel(ref, sample_rate, n_fft) - _log_mel(deg, sample_rate, n_fft)).abs().mean())
    return total / len(MEL_WINDOWS_S)


@lru_cache(maxsize=1)
def _mrstft():
    from auraloss.freq import MultiResolutionSTFTLoss

    return MultiResolutionSTFTLoss()


def mrstft_distance(reference, degraded, sample_rate: int | None = None) -> float:
    """auraloss's multi-resolution STFT distance (spectral convergence + log magnitude, FFT 512/1024/2048)."""
    ref, deg = _pair(reference, degraded)
    if len(ref) < 2048:
        raise MetricError(f"multi-resolution STFT distance needs at least 2048 samples, got {len(ref)}")
    with torch.no_grad():
        return float(_mrstft()(deg.float()[None, None], ref.float()[None, None]))
