"""SNAC's NoiseBlock: adds per-sample Gaussian noise scaled by a learned 1x1 projection of the input.

Training draws fresh noise. At inference (eval mode) the noise is, by option, drawn from a generator
seeded with `seed` on every call (so decoding is deterministic and the same for each batch item), drawn
at random as in training, or left out.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from codeckit.nn.checks import check_choice, check_positive

EvalNoise = Literal["seeded", "random", "off"]


class NoiseBlock(nn.Module):
    """x + n * W x, with n ~ N(0, 1) of shape (B, 1, T) and W a weight-normed 1x1 conv without bias."""

    def __init__(self, dim: int, eval_noise: EvalNoise = "seeded", seed: int = 0):
        super().__init__()
        check_positive("noise block", dim=dim)
        check_choice("noise block", "eval_noise", eval_noise, ("seeded", "random", "off"))
        self.linear = nn.utils.parametrizations.weight_norm(nn.Conv1d(dim, dim, 1, bias=False))
        self.eval_noise = eval_noise
        self.seed = int(seed)

    def noise(self, x: torch.Tensor) -> torch.Tensor | None:
        """The noise to multiply with, or None when it is off."""
        b, _, t = x.shape
        if self.training or self.eval_noise == "random":
            return torch.randn((b, 1, t), device=x.device, dtype=x.dtype)
        if self.eval_noise == "off":
            return None
        gen = torch.Generator(device=x.device).manual_seed(self.seed)
        return torch.randn((1, 1, t), generator=gen, device=x.device, dtype=x.dtype).expand(b, 1, t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.noise(x)
        return x if n is None else x + n * self.linear(x)
