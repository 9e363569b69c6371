"""FSQ (Mentzer et al., 2023): finite scalar quantization, the codebook-free baseline.

Each of len(levels) channels is bounded by tanh to L_i values and rounded (straight-through); the
code is the mixed-radix number of the rounded digits, so the implicit codebook has prod(levels) codes.
When `dim` differs from len(levels), 1x1 convs `in_proj` / `out_proj` map to and from those channels.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.quantizers.common import LevelOutput, straight_through, track_usage
from codeckit.quantizers.level import SingleCodebook
from codeckit.registry import QUANTIZERS


@QUANTIZERS.register("fsq")
class FSQ(SingleCodebook):
    """Finite scalar quantizer with `levels` values per channel (e.g. [8, 5, 5, 5] -> 1000 codes)."""

    def __init__(self, levels: list[int], dim: int, decay: float = 0.99):
        super().__init__()
        if not levels or any(int(n) < 2 for n in levels):
            raise ConfigError(f"fsq: levels must be a non-empty list of ints >= 2, got {levels}")
        if dim < 1:
            raise ConfigError(f"fsq: dim must be positive, got {dim}")
        self.levels = [int(n) for n in levels]
        self.dim = dim
        self.decay = decay
        self.codebook_sizes = [math.prod(self.levels)]
        n = len(self.levels)
        if dim != n:
            self.in_proj = nn.Conv1d(dim, n, 1)
            self.out_proj = nn.Conv1d(n, dim, 1)
        else:
            self.in_proj = self.out_proj = nn.Identity()
        radix = torch.tensor(self.levels, dtype=torch.long)
        basis = torch.cumprod(torch.cat([torch.ones(1, dtype=torch.long), radix[:-1]]), 0)
        self.register_buffer("_radix", radix[None, :, None], persistent=False)
        self.register_buffer("_basis", basis[None, :, None], persistent=False)
        self.register_buffer("_half", (radix // 2).float()[None, :, None], persistent=False)
        self.register_buffer("usage", torch.zeros(self.codebook_sizes[0]), persistent=False)

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        """Squash each channel into (-L/2, L/2) shifted so that rounding gives exactly L integer values."""
        radix = self._radix.to(z.dtype)
        half = (radix - 1) * (1 + 1e-3) / 2
        offset = (self._radix % 2 == 0).to(z.dtype) * 0.5
        shift = torch.atanh(offset / half)
        return torch.tanh(z + shift) * half - offset

    def _digits_to_codes(self, rounded: torch.Tensor) -> torch.Tensor:
        digits = rounded.long() + self._half.long()
        return (digits * self._basis).sum(1)

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, dim, T) latents -> (B, T) codes: the mixed-radix number of each frame's rounded digits."""
        return self._digits_to_codes(torch.round(self._bound(self.in_proj(latents))))

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) codes -> (B, dim, T): the digits scaled to [-1, 1], through `out_proj`."""
        digits = (codes[:, None, :] // self._basis) % self._radix
        return self.out_proj((digits.float() - self._half) / self._half)

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level`, elementwise ops and a sum, traces as it is."""
        return self.encode_level(latents)

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level`, elementwise ops and a 1x1 conv, traces as it is."""
        return self.decode_level(codes)

    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        bounded = self._bound(self.in_proj(latents))
        rounded = torch.round(bounded.detach())
        st = bounded if st_latents is None or st_latents is latents else self._bound(self.in_proj(st_latents))
        out = self.out_proj(straight_through(st, rounded) / self._half)
        codes = self._digits_to_codes(rounded)
        return LevelOutput(out, codes, {}, track_usage(self.usage, codes, mask, self.decay, self.training))
