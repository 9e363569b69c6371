"""Residual units and the strided encoder / decoder blocks shared by the SNAC and DAC stacks.

Convolutions are the streamable ones from `codeckit.nn.conv` with weight norm and zero padding, so
lengths are exact: a block with stride s maps T frames to T / s (encoder) or T * s (decoder) frames,
and `causal=True` puts all padding on the left (and trims transposed-conv overlap on the right).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from codeckit.nn.checks import check_positive, check_positive_list
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.noise import EvalNoise, NoiseBlock
from codeckit.nn.snake import Snake


def wn_conv1d(in_ch: int, out_ch: int, kernel_size: int, **options: Any) -> StreamableConv1d:
    """A weight-normed streamable Conv1d with zero padding; `options`: stride, dilation, groups, bias, causal."""
    return StreamableConv1d(in_ch, out_ch, kernel_size, norm="weight_norm", pad_mode="constant", **options)


def wn_conv_transpose1d(
    in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, causal: bool = False, padding: int | None = None
) -> nn.Module:
    """A weight-normed streamable ConvTranspose1d (output length = input length * stride unless `padding`)."""
    return StreamableConvTranspose1d(
        in_ch, out_ch, kernel_size, stride=stride, causal=causal, norm="weight_norm", padding=padding
    )


class ResidualUnit(nn.Module):
    """x + conv1x1(Snake(conv_k,dilated(Snake(x)))), length-preserving."""

    def __init__(self, dim: int, dilation: int = 1, kernel_size: int = 7, groups: int = 1, causal: bool = False):
        super().__init__()
        self.block = nn.Sequential(
            Snake(dim),
            wn_conv1d(dim, dim, kernel_size, dilation=dilation, groups=groups, causal=causal),
            Snake(dim),
            wn_conv1d(dim, dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class _StridedBlock(nn.Module):
    """A strided block's layers in order as `block` (the converted checkpoints' `block.N` keys)."""

    def __init__(self, in_dim: int, out_dim: int, stride: int, dilations: Sequence[int]):
        super().__init__()
        where = type(self).__name__
        check_positive(where, in_dim=in_dim, out_dim=out_dim, stride=stride)
        check_positive_list(where, "dilations", dilations)

    @staticmethod
    def units(dim: int, dilations: Sequence[int], groups: int, causal: bool) -> list[nn.Module]:
        """One ResidualUnit at `dim` per dilation."""
        return [ResidualUnit(dim, d, groups=groups, causal=causal) for d in dilations]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class EncoderBlock(_StridedBlock):
    """Residual units at `in_dim`, Snake, then a stride-s conv (kernel 2s) to `out_dim`: T -> T / s."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        stride: int,
        groups: int = 1,
        dilations: Sequence[int] = (1, 3, 9),
        causal: bool = False,
    ):
        super().__init__(in_dim, out_dim, stride, dilations)
        down = wn_conv1d(in_dim, out_dim, 2 * stride, stride=stride, causal=causal)
        self.block = nn.Sequential(*self.units(in_dim, dilations, groups, causal), Snake(in_dim), down)


class DecoderBlock(_StridedBlock):
    """Snake, stride-s transposed conv (kernel 2s) to `out_dim`, optional NoiseBlock, residual units: T -> T * s.

    `padding`: the transposed conv's trim per side (see StreamableConvTranspose1d), for DAC's released models."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        stride: int,
        groups: int = 1,
        dilations: Sequence[int] = (1, 3, 9),
        noise: bool = False,
        eval_noise: EvalNoise = "seeded",
        noise_seed: int = 0,
        causal: bool = False,
        padding: int | None = None,
    ):
        super().__init__(in_dim, out_dim, stride, dilations)
        up = wn_conv_transpose1d(in_dim, out_dim, 2 * stride, stride, causal, padding)
        layers: list[nn.Module] = [Snake(in_dim), up]
        if noise:
            layers.append(NoiseBlock(out_dim, eval_noise=eval_noise, seed=noise_seed))
        self.block = nn.Sequential(*layers, *self.units(out_dim, dilations, groups, causal))
