"""Split residual VQ (Mimi): a semantic residual VQ and an acoustic one, each behind its own projections.

Both branches read the same latents: `in_proj` (1x1 conv, no bias) to the codebook dimension, a residual VQ
(`codeckit.quantizers.residual`), `out_proj` (1x1 conv, no bias) back; the quantized latents are the sum of
the two branches. Codes are the `n_semantic` semantic levels, then the acoustic ones. With `n_quantizers = n`
the semantic levels and the first `n - n_semantic` acoustic levels are used (n >= n_semantic).

State-dict layout: `semantic.in_proj.weight`, `semantic.rvq.levels.N.*` (the level quantizer's tensors),
`semantic.out_proj.weight`, and the same under `acoustic.`. Quantizer dropout applies to the acoustic branch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.common import check_latents
from codeckit.quantizers.errors import QuantizerError
from codeckit.quantizers.residual import ResidualVQ
from codeckit.registry import QUANTIZERS


class ProjectedRVQ(nn.Module):
    """`out_proj(rvq(in_proj(x)))` with bias-free 1x1 convs around a residual VQ."""

    def __init__(self, dim: int, level: dict[str, Any], n_levels: int, **dropout: Any):
        super().__init__()
        self.rvq = ResidualVQ(level, n_levels, **dropout)
        self.in_proj = nn.Conv1d(dim, self.rvq.dim, 1, bias=False)
        self.out_proj = nn.Conv1d(self.rvq.dim, dim, 1, bias=False)

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        """The residual VQ's output, its quantized sum through `out_proj`."""
        out = self.rvq(self.in_proj(latents), n_quantizers)
        return out._replace(quantized=self.out_proj(out.quantized))

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        """Codes of the first `n_quantizers` levels (default all) of the projected latents."""
        return self.rvq.encode(self.in_proj(latents), n_quantizers)

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Codes -> (B, dim, T): the residual VQ's sum through `out_proj`."""
        return self.out_proj(self.rvq.decode(codes))

    def prepare_export(self) -> None:
        """The residual VQ's `prepare_export`."""
        self.rvq.prepare_export()

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """`encode` from the residual VQ's traceable `export_encode` (ONNX export)."""
        return self.rvq.export_encode(self.in_proj(latents), n_quantizers)

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """`decode` from the residual VQ's traceable `export_decode` (ONNX export)."""
        return self.out_proj(self.rvq.export_decode(codes))


@QUANTIZERS.register("split_rvq")
class SplitResidualVQ(Quantizer):
    """Mimi's quantizer: `n_semantic` semantic levels then `n_levels - n_semantic` acoustic levels, over
    `dim`-channel latents; `level` is the single-codebook spec of every level (its `dim` is the codebook's)."""

    def __init__(
        self,
        dim: int,
        level: dict[str, Any],
        n_levels: int,
        n_semantic: int = 1,
        dropout: float = 0.0,
        dropout_mode: str = "item",
        dropout_choices: Sequence[int] | None = None,
    ):
        super().__init__()
        if not 1 <= n_semantic < n_levels:
            raise ConfigError(f"split_rvq: needs 1 <= n_semantic < n_levels, got {n_semantic} and {n_levels}")
        self.dim = int(dim)
        self.n_semantic = int(n_semantic)
        n_acoustic = int(n_levels) - self.n_semantic
        choices = None if dropout_choices is None else [int(c) - self.n_semantic for c in dropout_choices]
        if choices is not None and any(c < 1 for c in choices):
            raise ConfigError(f"split_rvq: dropout_choices must exceed n_semantic {n_semantic}, got {dropout_choices}")
        self.semantic = ProjectedRVQ(self.dim, level, self.n_semantic)
        self.acoustic = ProjectedRVQ(
            self.dim, level, n_acoustic, dropout=dropout, dropout_mode=dropout_mode, dropout_choices=choices
        )
        self.codebook_sizes = self.semantic.rvq.codebook_sizes + self.acoustic.rvq.codebook_sizes
        self.strides = [1] * len(self.codebook_sizes)

    def _n_acoustic(self, n_quantizers: int | None) -> int | None:
        """Acoustic levels to use for `n_quantizers` in total (None: all); 0 means the semantic ones alone."""
        if n_quantizers is None:
            return None
        if not self.n_semantic <= int(n_quantizers) <= self.n_levels:
            raise QuantizerError(
                f"split_rvq: n_quantizers must be in {self.n_semantic}..{self.n_levels}, got {n_quantizers}"
            )
        return int(n_quantizers) - self.n_semantic

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        check_latents(latents, self.dim, "split_rvq")
        n_acoustic = self._n_acoustic(n_quantizers)
        first = self.semantic(latents)
        if n_acoustic == 0:
            return first
        rest = self.acoustic(latents, n_acoustic)
        losses = dict(first.losses)
        for k, v in rest.losses.items():
            losses[k] = losses[k] + v if k in losses else v
        stats = dict(first.stats)
        stats.update({f"{k.rsplit('/', 1)[0]}/{int(k.rsplit('/', 1)[1]) + self.n_semantic}": v
                      for k, v in rest.stats.items()})  # fmt: skip
        return QuantizerOutput(first.quantized + rest.quantized, first.codes + rest.codes, losses, stats)

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        check_latents(latents, self.dim, "split_rvq")
        n_acoustic = self._n_acoustic(n_quantizers)
        codes = self.semantic.encode(latents)
        return codes if n_acoustic == 0 else codes + self.acoustic.encode(latents, n_acoustic)

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        if not isinstance(codes, (list, tuple)) or not self.n_semantic <= len(codes) <= self.n_levels:
            n = len(codes) if isinstance(codes, (list, tuple)) else type(codes).__name__
            raise QuantizerError(
                f"split_rvq: expected a list of {self.n_semantic}..{self.n_levels} code tensors, got {n}"
            )
        quantized = self.semantic.decode(list(codes[: self.n_semantic]))
        if len(codes) > self.n_semantic:
            quantized = quantized + self.acoustic.decode(list(codes[self.n_semantic :]))
        return quantized

    def prepare_export(self) -> None:
        """Both branches' `prepare_export`."""
        self.semantic.prepare_export()
        self.acoustic.prepare_export()

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """`encode` from both branches' traceable `export_encode`: the semantic codes, then the acoustic ones."""
        n_acoustic = self._n_acoustic(n_quantizers)
        codes = self.semantic.export_encode(latents, self.n_semantic)
        return codes if n_acoustic == 0 else codes + self.acoustic.export_encode(latents, n_acoustic)

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """`decode` from both branches' traceable `export_decode`: the sum of their decoded latents."""
        quantized = self.semantic.export_decode(list(codes[: self.n_semantic]))
        if len(codes) > self.n_semantic:
            quantized = quantized + self.acoustic.export_decode(list(codes[self.n_semantic :]))
        return quantized
