"""SNAC encoder and decoder: Snake residual stacks with strided convs, optional local attention at the bottleneck.

Encoder: conv k7 -> per rate an EncoderBlock (channels double) -> [local attention] -> depthwise conv k7.
Decoder: (depthwise k7 + 1x1 | conv k7) -> [local attention] -> per rate a DecoderBlock (channels halve,
NoiseBlock) -> Snake -> conv k7 -> tanh. `causal=True` makes every conv and the attention causal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from codeckit.nn.attention import LocalAttention
from codeckit.nn.checks import check_positive, check_positive_list
from codeckit.nn.noise import EvalNoise
from codeckit.nn.residual import DecoderBlock, EncoderBlock, wn_conv1d
from codeckit.nn.snake import Snake
from codeckit.registry import DECODERS, ENCODERS


@ENCODERS.register("snac")
class SNACEncoder(nn.Module):
    """Audio (B, C, T) -> latents (B, dim * 2^len(rates), T / prod(rates))."""

    def __init__(
        self,
        dim: int = 48,
        rates: Sequence[int] = (2, 4, 8, 8),
        depthwise: bool = True,
        attn_window: int | None = None,
        causal: bool = False,
        in_channels: int = 1,
    ):
        super().__init__()
        check_positive("snac encoder", dim=dim, in_channels=in_channels)
        check_positive_list("snac encoder", "rates", rates)
        self.hop_length = math.prod(rates)
        self.frame_multiple = int(attn_window or 1)
        layers: list[nn.Module] = [wn_conv1d(in_channels, dim, 7, causal=causal)]
        for stride in rates:
            groups = dim if depthwise else 1
            layers.append(EncoderBlock(dim, 2 * dim, stride, groups=groups, causal=causal))
            dim *= 2
        if attn_window:
            layers.append(LocalAttention(dim, attn_window, causal=causal))
        layers.append(wn_conv1d(dim, dim, 7, groups=dim if depthwise else 1, causal=causal))
        self.layers = nn.Sequential(*layers)
        self.dim = dim

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.layers(audio)


@DECODERS.register("snac")
class SNACDecoder(nn.Module):
    """Latents (B, latent_dim, T) -> audio (B, out_channels, T * prod(rates)) in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 768,
        dim: int = 1024,
        rates: Sequence[int] = (8, 8, 4, 2),
        depthwise: bool = True,
        attn_window: int | None = None,
        noise: bool = True,
        eval_noise: EvalNoise = "seeded",
        noise_seed: int = 0,
        causal: bool = False,
        out_channels: int = 1,
    ):
        super().__init__()
        check_positive("snac decoder", latent_dim=latent_dim, dim=dim, out_channels=out_channels)
        check_positive_list("snac decoder", "rates", rates)
        self.hop_length = math.prod(rates)
        if depthwise:
            layers: list[nn.Module] = [
                wn_conv1d(latent_dim, latent_dim, 7, groups=latent_dim, causal=causal),
                wn_conv1d(latent_dim, dim, 1),
            ]
        else:
            layers = [wn_conv1d(latent_dim, dim, 7, causal=causal)]
        if attn_window:
            layers.append(LocalAttention(dim, attn_window, causal=causal))
        for i, stride in enumerate(rates):
            out_dim = dim // 2
            layers.append(
                DecoderBlock(
                    dim,
                    out_dim,
                    stride,
                    groups=out_dim if depthwise else 1,
                    noise=noise,
                    eval_noise=eval_noise,
                    noise_seed=noise_seed + i,
                    causal=causal,
                )
            )
            dim = out_dim
        layers += [Snake(dim), wn_conv1d(dim, out_channels, 7, causal=causal), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.layers(latents)
