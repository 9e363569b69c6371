"""DAC encoder and decoder: Snake residual stacks with strided convs and a plain conv to the latent.

Encoder: conv k7 -> per rate an EncoderBlock (channels double) -> Snake -> conv k3 to `latent_dim`.
Decoder: conv k7 to `dim` -> per rate a DecoderBlock (channels halve) -> Snake -> conv k7 -> tanh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_positive, check_positive_list
from codeckit.nn.residual import DecoderBlock, EncoderBlock, wn_conv1d
from codeckit.nn.snake import Snake
from codeckit.registry import DECODERS, ENCODERS


@ENCODERS.register("dac")
class DACEncoder(nn.Module):
    """Audio (B, C, T) -> latents (B, latent_dim, T / prod(rates)); latent_dim defaults to dim * 2^len(rates)."""

    def __init__(
        self,
        dim: int = 64,
        rates: Sequence[int] = (2, 4, 8, 8),
        latent_dim: int | None = None,
        causal: bool = False,
        in_channels: int = 1,
    ):
        super().__init__()
        check_positive("dac encoder", dim=dim, in_channels=in_channels)
        check_positive_list("dac encoder", "rates", rates)
        self.hop_length = math.prod(rates)
        layers: list[nn.Module] = [wn_conv1d(in_channels, dim, 7, causal=causal)]
        for stride in rates:
            layers.append(EncoderBlock(dim, 2 * dim, stride, causal=causal))
            dim *= 2
        self.dim = int(latent_dim or dim)
        layers += [Snake(dim), wn_conv1d(dim, self.dim, 3, causal=causal)]
        self.layers = nn.Sequential(*layers)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.layers(audio)


@DECODERS.register("dac")
class DACDecoder(nn.Module):
    """Latents (B, latent_dim, T) -> audio (B, out_channels, T * prod(rates)) in [-1, 1].

    `reference_lengths`: upsample as descript-audio-codec does (each transposed conv trims ceil(s/2) per side, so
    an odd stride s gives T * s - 1 frames, not T * s), which its released 16 and 24 kHz models were trained with;
    the output is then zero-padded at the end to T * prod(rates). Non-causal only.
    """

    def __init__(
        self,
        latent_dim: int = 1024,
        dim: int = 1536,
        rates: Sequence[int] = (8, 8, 4, 2),
        causal: bool = False,
        out_channels: int = 1,
        reference_lengths: bool = False,
    ):
        super().__init__()
        check_positive("dac decoder", latent_dim=latent_dim, dim=dim, out_channels=out_channels)
        check_positive_list("dac decoder", "rates", rates)
        if reference_lengths and causal:
            raise ConfigError("dac decoder: reference_lengths reproduces non-causal DAC models: it needs causal: false")
        self.hop_length = math.prod(rates)
        layers: list[nn.Module] = [wn_conv1d(latent_dim, dim, 7, causal=causal)]
        for stride in rates:
            padding = math.ceil(stride / 2) if reference_lengths else None
            layers.append(DecoderBlock(dim, dim // 2, stride, causal=causal, padding=padding))
            dim //= 2
        layers += [Snake(dim), wn_conv1d(dim, out_channels, 7, causal=causal), nn.Tanh()]
        self.layers = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        audio = self.layers(latents)
        missing = latents.shape[-1] * self.hop_length - audio.shape[-1]
        return nn.functional.pad(audio, (0, missing)) if missing else audio
