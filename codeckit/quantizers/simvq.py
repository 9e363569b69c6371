"""SimVQ (Zhu et al., 2024): a frozen random codebook C reparameterized by a learned linear map W.

Code vectors are W(C) (nn.Linear with bias); only W trains, so every code moves with each update and the
codebook does not collapse the way independently-updated code vectors do. Lookup is full-dimension
Euclidean. Losses: "commitment" 0.25 * ||z - sg(q)||^2 (encoder side) and "codebook" ||q - sg(z)||^2
(trains W). `decode` applies W too (the reference returns unprojected vectors from indices).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError
from codeckit.quantizers.common import (
    FrozenCodebook,
    LevelOutput,
    flatten_frames,
    nearest,
    stop_grad_mse,
    straight_through,
    track_usage,
)
from codeckit.quantizers.level import SingleCodebook
from codeckit.registry import QUANTIZERS


@QUANTIZERS.register("simvq")
class SimVQ(SingleCodebook):
    """Frozen `codebook` (K, dim) from N(0, dim^-0.5), learned `proj` Linear(dim, dim): codes are proj(codebook)."""

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        commitment_weight: float = 0.25,
        codebook_weight: float = 1.0,
        decay: float = 0.99,
    ):
        super().__init__()
        if codebook_size < 1 or dim < 1:
            raise ConfigError(f"simvq: codebook_size and dim must be positive, got {codebook_size} and {dim}")
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"simvq: decay must be in (0, 1), got {decay}")
        self.dim = dim
        self.codebook_sizes = [codebook_size]
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.decay = decay  # of the running code usage behind the dead-code statistic
        self.codebook = nn.Embedding(codebook_size, dim)
        nn.init.normal_(self.codebook.weight, mean=0.0, std=dim**-0.5)
        self.codebook.weight.requires_grad_(False)
        self.proj = nn.Linear(dim, dim)
        self.register_buffer("usage", torch.zeros(codebook_size), persistent=False)

    @property
    def weight(self) -> torch.Tensor:
        """The (K, dim) code vectors W(C), differentiable with respect to W."""
        return self.proj(self.codebook.weight)

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, dim, T) latents -> (B, T) codes: the nearest code vector W(C) of each frame."""
        return nearest(flatten_frames(latents), self.weight).view(latents.shape[0], latents.shape[2])

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) codes -> (B, dim, T) code vectors W(C)."""
        return F.embedding(codes, self.weight).transpose(1, 2)

    def prepare_export(self) -> None:
        """Freeze the current code vectors (`FrozenCodebook`) for `export_encode_level` / `export_decode_level`."""
        self.frozen = FrozenCodebook(self.weight)

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level` through the frozen codebook's unchunked search (after `prepare_export`)."""
        return self.frozen.nearest(latents)

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level` through the frozen codebook's lookup (after `prepare_export`)."""
        return self.frozen.lookup(codes)

    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        b, _, t = latents.shape
        weight = self.weight
        codes = nearest(flatten_frames(latents), weight)
        q = F.embedding(codes.view(b, t), weight).transpose(1, 2).to(latents.dtype)
        losses = {
            "commitment": self.commitment_weight * stop_grad_mse(latents, q, mask),
            "codebook": self.codebook_weight * stop_grad_mse(q, latents, mask),
        }
        out = straight_through(latents if st_latents is None else st_latents, q)
        stats = track_usage(self.usage, codes.view(b, t), mask, self.decay, self.training)
        return LevelOutput(out, codes.view(b, t), losses, stats)
