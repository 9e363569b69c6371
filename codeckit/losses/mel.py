"""Mel filterbanks and the multi-scale mel loss (DAC style), written by hand: auraloss's mel
scale needs librosa, which codeckit does not depend on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codeckit.registry import LOSSES

_F_SP = 200.0 / 3  # Slaney mel scale: linear below 1 kHz, logarithmic above
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale (the librosa default)."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log_part = _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log_part, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> torch.Tensor:
    """Slaney-normalized triangular mel filters `(n_mels, n_fft // 2 + 1)`, as librosa.filters.mel builds them."""
    fmax = sample_rate / 2 if fmax is None else fmax
    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return torch.from_numpy(weights.astype(np.float32))


class MelSpectrogram(nn.Module):
    """Audio `(B, C, T)` -> mel magnitudes `(B, C, n_mels, frames)` (hann window, centered STFT)."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, power: float = 1.0):
        super().__init__()
        self.n_fft, self.hop_length, self.power = n_fft, hop_length, power
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer("fb", mel_filterbank(sample_rate, n_fft, n_mels), persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b, c, t = audio.shape
        x = audio.reshape(b * c, t).float()
        if t <= self.n_fft // 2:  # reflect padding needs more samples than half a window
            x = F.pad(x, (0, self.n_fft // 2 + 1 - t))
        spec = torch.stft(x, self.n_fft, self.hop_length, self.n_fft, self.window, return_complex=True).abs()
        if self.power != 1.0:
            spec = spec**self.power
        mel = torch.matmul(self.fb, spec)
        return mel.reshape(b, c, mel.shape[-2], mel.shape[-1])


@LOSSES.register("mel")
class MultiScaleMelLoss(nn.Module):
    """L1 between log10 mel magnitudes at several (n_mels, window) scales, averaged over scales.

    Defaults are DAC's: n_mels 5..320 with windows 32..2048, hop window / 4, log10 with floor 1e-5.
    """

    def __init__(
        self,
        sample_rate: int,
        n_mels: Sequence[int] = (5, 10, 20, 40, 80, 160, 320),
        window_lengths: Sequence[int] = (32, 64, 128, 256, 512, 1024, 2048),
        clamp_eps: float = 1e-5,
        log_weight: float = 1.0,
        mag_weight: float = 0.0,
    ):
        super().__init__()
        if len(n_mels) != len(window_lengths) or not n_mels:
            raise ValueError(f"mel loss: n_mels {list(n_mels)} and window_lengths {list(window_lengths)} must pair up")
        self.specs = nn.ModuleList(
            MelSpectrogram(sample_rate, int(w), int(w) // 4, int(m)) for m, w in zip(n_mels, window_lengths)
        )
        self.clamp_eps, self.log_weight, self.mag_weight = clamp_eps, log_weight, mag_weight

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = estimate.new_zeros((), dtype=torch.float32)
        for spec in self.specs:
            x, y = spec(estimate), spec(target)
            if self.log_weight:
                lx = torch.log10(x.clamp(min=self.clamp_eps))
                ly = torch.log10(y.clamp(min=self.clamp_eps))
                loss = loss + self.log_weight * F.l1_loss(lx, ly)
            if self.mag_weight:
                loss = loss + self.mag_weight * F.l1_loss(x, y)
        return loss / len(self.specs)
