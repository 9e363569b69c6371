"""Snake activation: x + sin^2(alpha x) / alpha, with a learned alpha per channel (periodic inductive bias)."""

from __future__ import annotations

import torch
from torch import nn


def snake(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Snake of `x` (B, C, ...) with per-channel `alpha` (1, C, 1); 1e-9 keeps alpha = 0 finite."""
    shape = x.shape
    x = x.reshape(shape[0], shape[1], -1)
    if torch.is_grad_enabled() and (x.requires_grad or alpha.requires_grad):
        x = x + (alpha + 1e-9).reciprocal() * torch.sin(alpha * x).pow(2)
    else:  # inference: the same arithmetic in one buffer, no temporaries
        s = torch.mul(alpha, x).sin_()
        x = s.mul_(s).mul_((alpha + 1e-9).reciprocal()).add_(x)
    return x.reshape(shape)


class Snake(nn.Module):
    """Snake with one learned frequency per channel, initialised to 1."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return snake(x, self.alpha)
