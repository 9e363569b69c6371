"""Mimi's encoder and decoder (Kyutai; the codec of Moshi, Sesame CSM and Kyutai TTS), registered as `mimi`.

Encoder: causal SEANet (no LSTM) -> causal streaming transformer -> learnt strided conv (kernel 2 * stride, no
bias, the first frame repeated as left padding) from the SEANet frame rate (25 Hz) to the code rate (12.5 Hz).
Decoder: learnt transposed conv back up (depthwise when `upsample_channel_wise`, as the released weights
are) -> causal transformer -> SEANet decoder. Everything is causal and streams exactly (`codeckit.nn.streaming`).

State-dict layout: `seanet.layers.N.*` (as `codeckit.nn.seanet`), `transformer.*` (as
`codeckit.nn.transformer`), `downsample.conv.weight` / `upsample.conv.weight`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from codeckit.nn.checks import check_positive
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.seanet import SEANetDecoder, SEANetEncoder
from codeckit.nn.streaming import Streamable
from codeckit.nn.transformer import StreamingTransformer
from codeckit.registry import DECODERS, ENCODERS, check_kwargs


def _transformer(spec: Mapping[str, Any] | None, dim: int, where: str) -> StreamingTransformer | None:
    """The transformer a `transformer:` mapping describes (input and output `dim`), or None without one."""
    if spec is None:
        return None
    kwargs = {"input_dim": dim, "output_dim": dim, **spec}
    check_kwargs(StreamingTransformer, kwargs, f"{where}.transformer")
    return StreamingTransformer(**kwargs)


@ENCODERS.register("mimi")
class MimiEncoder(Streamable, nn.Module):
    """Audio (B, channels, T) -> latents (B, dimension, T / (prod(ratios) * downsample_stride))."""

    def __init__(
        self,
        seanet: dict[str, Any],
        transformer: dict[str, Any] | None = None,
        downsample_stride: int = 2,
    ):
        super().__init__()
        check_kwargs(SEANetEncoder, seanet, "mimi encoder.seanet")
        self.seanet = SEANetEncoder(**{"lstm": 0, **seanet})
        self.dim, self.channels = self.seanet.dim, self.seanet.channels
        self.transformer = _transformer(transformer, self.dim, "mimi encoder")
        check_positive("mimi encoder", downsample_stride=downsample_stride)
        self.downsample = None
        if downsample_stride > 1:
            self.downsample = StreamableConv1d(  # left padding: the stream's first frame repeated
                self.dim,
                self.dim,
                2 * downsample_stride,
                downsample_stride,
                bias=False,
                causal=True,
                pad_mode="replicate",
            )
        self.hop_length = self.seanet.hop_length * int(downsample_stride)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.seanet(audio)
        if self.transformer is not None:
            x = self.transformer(x)
        return self.downsample(x) if self.downsample is not None else x


@DECODERS.register("mimi")
class MimiDecoder(Streamable, nn.Module):
    """Latents (B, dimension, F) -> audio (B, channels, F * upsample_stride * prod(ratios))."""

    def __init__(
        self,
        seanet: dict[str, Any],
        transformer: dict[str, Any] | None = None,
        upsample_stride: int = 2,
        upsample_channel_wise: bool = True,
    ):
        super().__init__()
        check_kwargs(SEANetDecoder, seanet, "mimi decoder.seanet")
        self.seanet = SEANetDecoder(**{"lstm": 0, **seanet})
        self.dim, self.channels = self.seanet.dim, self.seanet.channels
        check_positive("mimi decoder", upsample_stride=upsample_stride)
        self.upsample = None
        if upsample_stride > 1:
            groups = self.dim if upsample_channel_wise else 1
            self.upsample = StreamableConvTranspose1d(
                self.dim, self.dim, 2 * upsample_stride, stride=upsample_stride, groups=groups, bias=False, causal=True
            )
        self.transformer = _transformer(transformer, self.dim, "mimi decoder")
        self.hop_length = self.seanet.hop_length * int(upsample_stride)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        x = self.upsample(latents) if self.upsample is not None else latents
        if self.transformer is not None:
            x = self.transformer(x)
        return self.seanet(x)
