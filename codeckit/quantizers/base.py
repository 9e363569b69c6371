"""The quantizer contract: `(latents) -> (quantized, codes, losses, stats)`, plus encode / decode.

Any quantizer plugs into any codec whose latent shape fits: latents are `(batch, dim, frames)`,
codes a list with one int64 `(batch, frames_l)` tensor per level, coarse to fine.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


class QuantizerOutput(NamedTuple):
    """What `Quantizer.forward` returns; unpacks as a 4-tuple."""

    quantized: torch.Tensor  # (B, D, T), straight-through: gradients reach the latents
    codes: list[torch.Tensor]  # per level (B, T_l) int64
    losses: dict[str, torch.Tensor]  # scalar terms, e.g. "commitment", "codebook", scaled by the quantizer's
    # own commitment_weight / codebook_weight (the trainer may weight them further)
    stats: dict[str, torch.Tensor]  # e.g. "utilization/0", "perplexity/0"


class Quantizer(nn.Module):
    """Base class. Subclasses set `codebook_sizes` and `strides` (latent frames per code, per level)."""

    codebook_sizes: list[int]
    strides: list[int]
    dim: int

    @property
    def n_levels(self) -> int:
        return len(self.codebook_sizes)

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        raise NotImplementedError

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        raise NotImplementedError

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError
