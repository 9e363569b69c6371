"""Reconstruction losses: waveform L1 and auraloss's multi-resolution STFT loss, registered by name."""

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
