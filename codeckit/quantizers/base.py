"""The quantizer contract: `(latents) -> (quantized, codes, losses, stats)`, plus encode / decode, and their
traceable twins `export_encode` / `export_decode` that the ONNX export runs (`codeckit.export.graphs`).

Any quantizer plugs into any codec whose latent shape fits: latents are `(batch, dim, frames)`,
codes a list with one int64 `(batch, frames_l)` tensor per level, coarse to fine.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from codeckit.export.errors import ExportError


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
        """How many codebooks (levels) the quantizer has."""
        return len(self.codebook_sizes)

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        """Quantize (B, dim, T) latents with the first `n_quantizers` levels (default all), for training."""
        raise NotImplementedError

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        """(B, dim, T) latents -> one int64 code tensor per level used, coarse to fine (inputs checked)."""
        raise NotImplementedError

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Codes of the first levels -> (B, dim, T) quantized latents (inputs checked)."""
        raise NotImplementedError

    def prepare_export(self) -> None:
        """Precompute, on the eval-mode copy about to be traced, what `export_encode` / `export_decode` read (such
        as a codebook's search tables, so the graph holds none of their arithmetic); by default nothing."""

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """`encode` of the first `n_quantizers` levels in ops the ONNX exporter traces, every length taken from
        tensor shapes (no checks, no Python chunking); ExportError for a quantizer that has none."""
        raise ExportError(f"quantizer '{type(self).__name__}' has no ONNX export (it defines no export_encode)")

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """`decode` in ops the ONNX exporter traces (see `export_encode`); ExportError for a quantizer that has none."""
        raise ExportError(f"quantizer '{type(self).__name__}' has no ONNX export (it defines no export_decode)")
