"""Residual VQ (EnCodec / DAC) and multi-scale residual VQ (SNAC) over any single-codebook quantizer.

Level i quantizes what the levels before it left over; a multi-scale level first averages the residual
over `stride` frames and repeats its output back up. Two residual streams carry the same values: one
subtracts each level's output detached, so every level's commitment loss reaches the encoder (EnCodec's
bug loses it), the other subtracts it with its gradient, so the straight-through gradient of the sum
telescopes to the identity as in DAC and SNAC.

Quantizer dropout (training only, when `n_quantizers` is not given): with probability `dropout` an item
(`dropout_mode: item`) or the whole batch (`batch`) keeps only its first n levels, n drawn uniformly from
`dropout_choices` (default: multiples of `dropout_multiple` up to n_levels). All levels still run, masked,
so every rank takes part in the same EMA collectives. `n_quantizers` picks the first n levels in train and
eval mode alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError
from codeckit.metrics.bitrate import levels_used
from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.common import check_codes, check_latents
from codeckit.quantizers.errors import QuantizerError
from codeckit.quantizers.level import SingleCodebook
from codeckit.registry import QUANTIZERS


def _down(x: torch.Tensor, stride: int) -> torch.Tensor:
    return x if stride == 1 else F.avg_pool1d(x, stride, stride)


def _up(x: torch.Tensor, stride: int) -> torch.Tensor:
    return x if stride == 1 else x.repeat_interleave(stride, dim=-1)


def _up_traced(x: torch.Tensor, stride: int) -> torch.Tensor:
    """`_up` in ops the ONNX exporter traces with a symbolic length (no `repeat_interleave`)."""
    if stride == 1:
        return x
    return x.unsqueeze(-1).expand(-1, -1, -1, stride).reshape(x.shape[0], x.shape[1], -1)


class ResidualQuantizer(Quantizer):
    """Levels built from one `level` spec, each with a stride (latent frames per code)."""

    def __init__(
        self,
        level: Mapping[str, Any],
        strides: Sequence[int],
        dropout: float = 0.0,
        dropout_mode: str = "item",
        dropout_multiple: int = 1,
        dropout_choices: Sequence[int] | None = None,
        name: str = "rvq",
    ):
        super().__init__()
        self.name = name
        if not strides or any(int(s) < 1 for s in strides):
            raise ConfigError(f"{name}: needs at least one level with strides >= 1, got {list(strides)}")
        if not 0.0 <= dropout <= 1.0:
            raise ConfigError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if dropout_mode not in ("item", "batch"):
            raise ConfigError(f"{name}: dropout_mode must be 'item' or 'batch', got '{dropout_mode}'")
        n = len(strides)
        if dropout_choices is None:
            if not 1 <= dropout_multiple <= n:
                raise ConfigError(f"{name}: dropout_multiple must be in 1..{n}, got {dropout_multiple}")
            dropout_choices = list(range(dropout_multiple, n + 1, dropout_multiple))
        choices = sorted({int(c) for c in dropout_choices})
        if not choices or choices[0] < 1 or choices[-1] > n:
            raise ConfigError(f"{name}: dropout_choices must lie in 1..{n}, got {list(dropout_choices)}")
        self.levels = nn.ModuleList()
        for _ in range(n):
            q = QUANTIZERS.build(level, source=f"{name}.level")
            if not isinstance(q, SingleCodebook):
                raise ConfigError(f"{name}: level must be a single-codebook quantizer (vq, simvq, fsq), got {level}")
            self.levels.append(q)
        self.strides = [int(s) for s in strides]
        self.codebook_sizes = [q.codebook_size for q in self.levels]
        self.dim = self.levels[0].dim
        self.dropout = float(dropout)
        self.dropout_mode = dropout_mode
        self.dropout_choices = choices

    def _n(self, n_quantizers: int | None) -> int:
        return levels_used(n_quantizers, self.n_levels, QuantizerError, f"{self.name}: ")

    def _check(self, latents: torch.Tensor) -> None:
        check_latents(latents, self.dim, self.name)
        multiple = max(self.strides)
        if latents.shape[2] % multiple:
            raise QuantizerError(
                f"{self.name}: {latents.shape[2]} latent frames is not a multiple of the largest stride {multiple}"
            )

    def sample_kept_levels(self, batch: int, device: torch.device) -> torch.Tensor:
        """How many levels each item keeps this training step (B,) int64, per the dropout settings."""
        full = torch.full((batch,), self.n_levels, dtype=torch.long, device=device)
        if self.dropout <= 0:
            return full
        choices = torch.tensor(self.dropout_choices, dtype=torch.long, device=device)
        if self.dropout_mode == "batch":
            if float(torch.rand(())) < self.dropout:
                return full.fill_(int(choices[int(torch.randint(len(choices), ()))]))
            return full
        dropped = torch.rand(batch, device=device) < self.dropout
        return torch.where(dropped, choices[torch.randint(len(choices), (batch,), device=device)], full)

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        self._check(latents)
        n = self._n(n_quantizers)
        kept = None
        if self.training and n_quantizers is None and self.dropout > 0:
            kept = self.sample_kept_levels(latents.shape[0], latents.device)
        residual, st_residual = latents, latents
        quantized: torch.Tensor | None = None
        codes: list[torch.Tensor] = []
        losses: dict[str, torch.Tensor] = {}
        stats: dict[str, torch.Tensor] = {}
        for i in range(n):
            level, stride = self.levels[i], self.strides[i]
            mask = None if kept is None or bool((kept > i).all()) else (kept > i).to(latents.dtype)
            x = _down(residual, stride)
            out = level.quantize(x, x if st_residual is residual else _down(st_residual, stride), mask)
            z = _up(out.quantized, stride)
            z_out = z if mask is None else z * mask[:, None, None]
            quantized = z_out if quantized is None else quantized + z_out
            residual = residual - z.detach()
            st_residual = st_residual - z
            codes.append(out.codes)
            for k, v in out.losses.items():
                losses[k] = losses[k] + v if k in losses else v
            stats.update({f"{k}/{i}": v for k, v in out.stats.items()})
        return QuantizerOutput(quantized, codes, losses, stats)

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        self._check(latents)
        residual = latents
        codes = []
        for i in range(self._n(n_quantizers)):
            level, stride = self.levels[i], self.strides[i]
            c = level.encode_level(_down(residual, stride))
            codes.append(c)
            residual = residual - _up(level.decode_level(c), stride)
        return codes

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        if not isinstance(codes, (list, tuple)) or not 1 <= len(codes) <= self.n_levels:
            n = len(codes) if isinstance(codes, (list, tuple)) else type(codes).__name__
            raise QuantizerError(f"{self.name}: expected a list of 1..{self.n_levels} code tensors, got {n}")
        frames = None
        quantized: torch.Tensor | None = None
        for i, c in enumerate(codes):
            check_codes(c, self.codebook_sizes[i], self.name, i)
            t = c.shape[1] * self.strides[i]
            if frames is None:
                frames = t
            elif t != frames or c.shape[0] != codes[0].shape[0]:
                raise QuantizerError(
                    f"{self.name}: level {i} codes {tuple(c.shape)} do not match level 0 "
                    f"{tuple(codes[0].shape)} with strides {self.strides}"
                )
            z = _up(self.levels[i].decode_level(c), self.strides[i])
            quantized = z if quantized is None else quantized + z
        return quantized

    def prepare_export(self) -> None:
        """Every level's `prepare_export`."""
        for level in self.levels:
            level.prepare_export()

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """`encode` of the first `n_quantizers` levels from their traceable `export_encode_level`."""
        residual, codes = latents, []
        for level, stride in zip(self.levels[:n_quantizers], self.strides[:n_quantizers]):
            c = level.export_encode_level(_down(residual, stride))
            codes.append(c)
            if len(codes) < n_quantizers:
                residual = residual - _up_traced(level.export_decode_level(c), stride)
        return codes

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """`decode` from the levels' traceable `export_decode_level`, without the checks."""
        quantized: torch.Tensor | None = None
        for level, stride, c in zip(self.levels, self.strides, codes):
            z = _up_traced(level.export_decode_level(c), stride)
            quantized = z if quantized is None else quantized + z
        return quantized


@QUANTIZERS.register("rvq")
class ResidualVQ(ResidualQuantizer):
    """Residual VQ: `n_levels` copies of `level` at the latent frame rate."""

    def __init__(
        self,
        level: dict[str, Any],
        n_levels: int,
        dropout: float = 0.0,
        dropout_mode: str = "item",
        dropout_multiple: int = 1,
        dropout_choices: list[int] | None = None,
    ):
        if n_levels < 1:
            raise ConfigError(f"rvq: n_levels must be >= 1, got {n_levels}")
        super().__init__(level, [1] * n_levels, dropout, dropout_mode, dropout_multiple, dropout_choices, "rvq")


@QUANTIZERS.register("multiscale_rvq")
class MultiScaleRVQ(ResidualQuantizer):
    """SNAC's multi-scale residual VQ: one level per stride, coarse to fine (e.g. [4, 2, 1])."""

    def __init__(
        self,
        level: dict[str, Any],
        strides: list[int],
        dropout: float = 0.0,
        dropout_mode: str = "item",
        dropout_multiple: int = 1,
        dropout_choices: list[int] | None = None,
    ):
        super().__init__(level, strides, dropout, dropout_mode, dropout_multiple, dropout_choices, "multiscale_rvq")
