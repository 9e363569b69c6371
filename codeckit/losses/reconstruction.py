"""Reconstruction losses: waveform L1, auraloss's multi-resolution STFT loss and a compressed complex STFT loss."""

from __future__ import annotations

from collections.abc import Sequence

import auraloss
import torch
import torch.nn.functional as F
from torch import nn

from codeckit.registry import LOSSES


@LOSSES.register("l1")
class WaveformL1Loss(nn.Module):
    """Mean absolute error between waveforms."""

    def __init__(self, sample_rate: int | None = None):
        super().__init__()

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(estimate.float(), target.float())


@LOSSES.register("mrstft")
class MultiResolutionSTFTLoss(nn.Module):
    """auraloss's multi-resolution STFT loss (spectral convergence + log magnitude by default)."""

    def __init__(
        self,
        sample_rate: int | None = None,
        fft_sizes: Sequence[int] = (1024, 2048, 512),
        hop_sizes: Sequence[int] = (120, 240, 50),
        win_lengths: Sequence[int] = (600, 1200, 240),
        w_sc: float = 1.0,
        w_log_mag: float = 1.0,
        w_lin_mag: float = 0.0,
    ):
        super().__init__()
        if not len(fft_sizes) == len(hop_sizes) == len(win_lengths):
            raise ValueError("mrstft: fft_sizes, hop_sizes and win_lengths must have the same length")
        self.loss = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=list(fft_sizes),
            hop_sizes=list(hop_sizes),
            win_lengths=list(win_lengths),
            w_sc=w_sc,
            w_log_mag=w_log_mag,
            w_lin_mag=w_lin_mag,
        )

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss(estimate.float(), target.float())


@LOSSES.register("complex_stft")
class CompressedComplexSTFTLoss(nn.Module):
    """Multi-resolution MSE on power-law compressed spectra, magnitude and complex: a loss that sees phase.

    Mel and magnitude losses leave the phase free, so a decoder trained on them alone makes frames whose phases
    disagree (rough, phasey audio that PESQ punishes); the compressed complex term, as speech-enhancement models
    train with, pulls each bin toward the target's phase, weighted so quiet bins still count. Per window size w
    (Hann, hop w / 4): (1 - alpha) * MSE(|Y|^c, |X|^c) + alpha * MSE(Y |Y|^(c-1), X |X|^(c-1)).
    """

    def __init__(
        self,
        sample_rate: int | None = None,
        window_lengths: Sequence[int] = (256, 512, 1024),
        power: float = 0.3,
        alpha: float = 0.3,
        eps: float = 1e-8,
    ):
        super().__init__()
        if not window_lengths or any(int(w) < 4 for w in window_lengths):
            raise ValueError(f"complex_stft: window_lengths must be sizes of at least 4 samples, got {window_lengths}")
        if not 0 < power <= 1:
            raise ValueError(f"complex_stft: power must be in (0, 1], got {power}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"complex_stft: alpha must be in [0, 1], got {alpha}")
        self.window_lengths = [int(w) for w in window_lengths]
        self.power, self.alpha, self.eps = float(power), float(alpha), float(eps)
        for w in self.window_lengths:
            self.register_buffer(f"window_{w}", torch.hann_window(w), persistent=False)

    def _compressed(self, audio: torch.Tensor, w: int) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.stft(
            audio.reshape(-1, audio.shape[-1]), w, w // 4, window=getattr(self, f"window_{w}"), return_complex=True
        )
        spec = torch.view_as_real(spec)  # (..., 2): real, imaginary
        power = spec.pow(2).sum(-1, keepdim=True) + self.eps
        return power.pow(self.power / 2).squeeze(-1), spec * power.pow((self.power - 1) / 2)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = estimate.new_zeros((), dtype=torch.float32)
        for w in self.window_lengths:
            mag_e, cplx_e = self._compressed(estimate.float(), w)
            mag_t, cplx_t = self._compressed(target.float(), w)
            loss = loss + (1 - self.alpha) * F.mse_loss(mag_e, mag_t) + self.alpha * F.mse_loss(cplx_e, cplx_t)
        return loss / len(self.window_lengths)
