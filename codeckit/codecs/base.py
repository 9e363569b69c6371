"""A codec is an encoder, a quantizer and a decoder, each built by name from config.

Audio is float32 `(batch, channels, samples)` at `sample_rate`. The codec pads its input to the
multiple it needs and trims decoded audio back to the input length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.metrics.bitrate import nominal_bitrate
from codeckit.quantizers.base import Quantizer
from codeckit.registry import CODECS, DECODERS, ENCODERS, QUANTIZERS


@dataclass
class CodecConfig:
    """The `model:` section of a config: which parts, and their keyword arguments."""

    sample_rate: int
    encoder: dict[str, Any]
    quantizer: dict[str, Any]
    decoder: dict[str, Any]
    name: str = "codec"
    channels: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # passed to the codec class


class CodecOutput(NamedTuple):
    """What `Codec.forward` returns."""

    audio: torch.Tensor  # (B, C, T), trimmed to the input length
    codes: list[torch.Tensor]  # per level (B, frames_l) int64
    losses: dict[str, torch.Tensor]  # the quantizer's unweighted loss terms
    stats: dict[str, torch.Tensor]  # the quantizer's statistics


@CODECS.register("codec")
class Codec(nn.Module):
    """Encoder -> quantizer -> decoder, with padding to the needed multiple and trimming after."""

    def __init__(
        self,
        sample_rate: int,
        encoder: nn.Module,
        quantizer: Quantizer,
        decoder: nn.Module,
        channels: int = 1,
    ):
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.encoder = encoder
        self.quantizer = quantizer
        self.decoder = decoder

    # -- declaration --------------------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        """Samples per latent frame (the encoder's total stride)."""
        return int(self.encoder.hop_length)

    @property
    def hop_lengths(self) -> list[int]:
        """Samples per code, per level (coarse to fine)."""
        return [self.hop_length * s for s in self.quantizer.strides]

    @property
    def codebook_sizes(self) -> list[int]:
        return list(self.quantizer.codebook_sizes)

    @property
    def n_levels(self) -> int:
        return len(self.codebook_sizes)

    @property
    def frame_rates(self) -> list[float]:
        return [self.sample_rate / h for h in self.hop_lengths]

    @property
    def pad_multiple(self) -> int:
        """Input lengths are padded to a multiple of this many samples."""
        frames = math.lcm(*self.quantizer.strides, int(getattr(self.encoder, "frame_multiple", 1)))
        return self.hop_length * frames

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Nominal bits per second with the first `n_quantizers` levels (all by default)."""
        return nominal_bitrate(self.sample_rate, self.hop_lengths, self.codebook_sizes, n_quantizers)

    def n_frames(self, length: int) -> list[int]:
        """Code frames per level for an input of `length` samples."""
        padded = math.ceil(length / self.pad_multiple) * self.pad_multiple
        return [padded // h for h in self.hop_lengths]

    # -- running ------------------------------------------------------------------------------
    def pad(self, audio: torch.Tensor) -> torch.Tensor:
        """Right-pad `(B, C, T)` with zeros to a multiple of `pad_multiple`."""
        if audio.dim() != 3 or audio.shape[1] != self.channels:
            raise ValueError(f"audio must be (batch, {self.channels}, samples), got {tuple(audio.shape)}")
        extra = (-audio.shape[-1]) % self.pad_multiple
        return F.pad(audio, (0, extra)) if extra else audio

    def encode(self, audio: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        """Audio `(B, C, T)` -> codes, one `(B, frames_l)` int64 tensor per level."""
        return self.quantizer.encode(self.encoder(self.pad(audio)), n_quantizers)

    def decode(self, codes: list[torch.Tensor], length: int | None = None) -> torch.Tensor:
        """Codes -> audio `(B, C, T)`, trimmed to `length` samples when given."""
        audio = self.decoder(self.quantizer.decode(codes))
        return audio[..., :length] if length is not None else audio

    def forward(self, audio: torch.Tensor, n_quantizers: int | None = None) -> CodecOutput:
        length = audio.shape[-1]
        quantized, codes, losses, stats = self.quantizer(self.encoder(self.pad(audio)), n_quantizers)
        return CodecOutput(self.decoder(quantized)[..., :length], codes, losses, stats)


def build_codec(config: CodecConfig | dict[str, Any], source: str = "config") -> Codec:
    """Build a codec from its config (the `model:` section), parts looked up by name."""
    from codeckit.config import from_dict

    if not isinstance(config, CodecConfig):
        config = from_dict(CodecConfig, config, source=source, prefix="model.")
    encoder = ENCODERS.build(config.encoder, source=f"{source}: model.encoder")
    quantizer = QUANTIZERS.build(config.quantizer, source=f"{source}: model.quantizer")
    decoder = DECODERS.build(config.decoder, source=f"{source}: model.decoder")
    cls = CODECS.get(config.name)
    codec = cls(config.sample_rate, encoder, quantizer, decoder, channels=config.channels, **config.extra)
    codec.config = config  # saved beside the weights by save_codec
    return codec
