"""A codec is an encoder, a quantizer and a decoder, each built by name from config.

Audio is float32 `(batch, channels, samples)` at `sample_rate`. The codec pads its input to the
multiple it needs and trims decoded audio back to the input length.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.chunking import round_up
from codeckit.codec_spec import CodecSpec
from codeckit.nn.streaming import Streamable
from codeckit.quantizers.base import Quantizer
from codeckit.registry import CODECS, DECODERS, ENCODERS, QUANTIZERS, check_kwargs


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

    def __post_init__(self):
        if self.sample_rate < 1:
            raise ValueError(f"model.sample_rate must be a positive number of Hz, got {self.sample_rate}")
        if self.channels < 1:
            raise ValueError(f"model.channels must be >= 1, got {self.channels}")


class CodecOutput(NamedTuple):
    """What `Codec.forward` returns."""

    audio: torch.Tensor  # (B, C, T), trimmed to the input length
    codes: list[torch.Tensor]  # per level (B, frames_l) int64
    losses: dict[str, torch.Tensor]  # the quantizer's unweighted loss terms
    stats: dict[str, torch.Tensor]  # the quantizer's statistics


@CODECS.register("codec")
class Codec(Streamable, nn.Module):
    """Encoder -> quantizer -> decoder, with padding to the needed multiple and trimming after.

    `with codec.streaming(batch_size):` encode / decode consecutive chunks (multiples of `hop_length`) of
    `batch_size` streams; for causal models the chunks' outputs equal one offline pass (`codeckit.nn.streaming`).
    """

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
        """Codebook size per level (coarse to fine)."""
        return list(self.quantizer.codebook_sizes)

    @property
    def spec(self) -> CodecSpec:
        """The codec's declaration as one value: what token files and ONNX exports store."""
        hops, sizes = tuple(self.hop_lengths), tuple(self.codebook_sizes)
        return CodecSpec(self.sample_rate, self.channels, hops, sizes, self.pad_multiple, self.delay)

    @property
    def n_levels(self) -> int:
        """Number of code levels."""
        return len(self.codebook_sizes)

    @property
    def frame_rates(self) -> list[float]:
        """Codes per second, per level."""
        return self.spec.frame_rates

    @property
    def pad_multiple(self) -> int:
        """Input lengths are padded to a multiple of this many samples."""
        frames = math.lcm(*self.quantizer.strides, int(getattr(self.encoder, "frame_multiple", 1)))
        return self.hop_length * frames

    @property
    def delay(self) -> int:
        """Samples by which decoded audio lags the input: 0, since `decode` returns audio in the input's time
        base, trimmed to its length (a causal codec's latency is how long it waits for input, not a shift)."""
        return 0

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Nominal bits per second with the first `n_quantizers` levels (all by default)."""
        return self.spec.bitrate(n_quantizers)

    def n_frames(self, length: int) -> list[int]:
        """Code frames per level for an input of `length` samples."""
        padded = round_up(length, self.pad_multiple)
        return [padded // h for h in self.hop_lengths]

    # -- running ------------------------------------------------------------------------------
    def pad(self, audio: torch.Tensor) -> torch.Tensor:
        """Right-pad `(B, C, T)` with zeros to a multiple of `pad_multiple`."""
        if audio.dim() != 3 or audio.shape[1] != self.channels:
            raise ValueError(f"audio must be (batch, {self.channels}, samples), got {tuple(audio.shape)}")
        extra = (-audio.shape[-1]) % self.pad_multiple
        return F.pad(audio, (0, extra)) if extra else audio

    def encode(
        self, audio: torch.Tensor, n_quantizers: int | None = None, lengths: Sequence[int] | None = None
    ) -> list[torch.Tensor]:
        """Audio `(B, C, T)` -> codes, one `(B, frames_l)` int64 tensor per level.

        With `lengths` (valid samples per item) each item is coded as if alone: item i's first
        `n_frames(lengths[i])[l]` frames equal a run on `audio[i:i+1, :, :lengths[i]]`; later frames are 0.
        """
        if lengths is None:
            return self.quantizer.encode(self.encoder(self.pad(audio)), n_quantizers)
        lengths = self._check_lengths(lengths, audio)
        runs = [
            (idx, self.encode(self._masked(audio, idx, lengths, p), n_quantizers)) for idx, p in self._groups(lengths)
        ]
        return self._merge_codes(runs, audio.shape[0])

    def decode(
        self, codes: list[torch.Tensor], length: int | None = None, lengths: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Codes -> audio `(B, C, T)`, trimmed to `length` samples when given.

        With `lengths` each item is decoded from its own `n_frames(lengths[i])` frames as if alone and
        trimmed to `lengths[i]`; the output is `max(lengths)` long and zero past each item's length.
        """
        if lengths is None:
            audio = self.decoder(self.quantizer.decode(codes))
            return audio[..., :length] if length is not None else audio
        lengths = self._check_lengths(lengths, None, batch=codes[0].shape[0])
        out = None
        for idx, padded in self._groups(lengths):
            frames = self.n_frames(padded)
            sub = [c[idx, : frames[i]] for i, c in enumerate(codes)]
            audio = self.decoder(self.quantizer.decode(sub))
            if out is None:
                out = audio.new_zeros(len(lengths), audio.shape[1], max(lengths))
            for j, i in enumerate(idx):
                out[i, :, : lengths[i]] = audio[j, :, : lengths[i]]
        return out

    def forward(
        self, audio: torch.Tensor, n_quantizers: int | None = None, lengths: Sequence[int] | None = None
    ) -> CodecOutput:
        """Encode, quantize and decode; with `lengths`, per item as in `encode` / `decode`.

        With `lengths` the loss terms and statistics are the item-weighted means over groups of items
        that share a padded length.
        """
        length = audio.shape[-1]
        if lengths is None:
            quantized, codes, losses, stats = self.quantizer(self.encoder(self.pad(audio)), n_quantizers)
            return CodecOutput(self.decoder(quantized)[..., :length], codes, losses, stats)
        lengths = self._check_lengths(lengths, audio)
        b = audio.shape[0]
        runs, pieces, losses, stats = [], [], {}, {}
        for idx, padded in self._groups(lengths):
            res = self.forward(self._masked(audio, idx, lengths, padded), n_quantizers)
            runs.append((idx, res.codes))
            pieces.append((idx, res.audio))
            w = len(idx) / b
            for acc, new in ((losses, res.losses), (stats, res.stats)):
                for k, v in new.items():
                    acc[k] = acc[k] + w * v if k in acc else w * v
        rows = []
        for i in range(b):
            idx, y = next((idx, y) for idx, y in pieces if i in idx)
            y = y[idx.index(i), :, : lengths[i]]
            rows.append(F.pad(y, (0, length - lengths[i])))
        return CodecOutput(torch.stack(rows), self._merge_codes(runs, b), losses, stats)

    # -- per-item lengths ---------------------------------------------------------------------
    def _check_lengths(self, lengths: Sequence[int], audio: torch.Tensor | None, batch: int | None = None) -> list[int]:
        """Validate per-item lengths against the batch; returns them as a list of ints."""
        lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, torch.Tensor) else lengths)]
        b = audio.shape[0] if audio is not None else batch
        if len(lengths) != b:
            raise ValueError(f"lengths has {len(lengths)} items but the batch has {b}")
        limit = audio.shape[-1] if audio is not None else None
        for n in lengths:
            if n < 1 or (limit is not None and n > limit):
                raise ValueError(f"each length must be in 1..{limit or 'inf'}, got {n}")
        return lengths

    @staticmethod
    def _merge_codes(runs: list[tuple[list[int], list[torch.Tensor]]], batch: int) -> list[torch.Tensor]:
        """Per-group codes scattered back into `(batch, max frames)` tensors, 0 past each item's frames."""
        out = []
        for level in range(len(runs[0][1])):
            frames = max(codes[level].shape[-1] for _, codes in runs)
            ref = runs[0][1][level]
            merged = ref.new_zeros(batch, frames)
            for idx, codes in runs:
                merged[idx, : codes[level].shape[-1]] = codes[level]
            out.append(merged)
        return out

    def _groups(self, lengths: list[int]) -> list[tuple[list[int], int]]:
        """Items grouped by padded length: [(item indices, padded length)], shortest first."""
        groups: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            groups.setdefault(round_up(n, self.pad_multiple), []).append(i)
        return [(idx, padded) for padded, idx in sorted(groups.items())]

    def _masked(self, audio: torch.Tensor, idx: list[int], lengths: list[int], padded: int) -> torch.Tensor:
        """Items `idx` cut or zero-padded to `padded` samples, zero past each item's own length."""
        sub = audio[idx, :, : min(padded, audio.shape[-1])]
        keep = (
            torch.arange(sub.shape[-1], device=audio.device)[None, :]
            < torch.tensor([lengths[i] for i in idx], device=audio.device)[:, None]
        )
        sub = sub * keep[:, None, :].to(sub.dtype)
        return F.pad(sub, (0, padded - sub.shape[-1])) if sub.shape[-1] < padded else sub


def build_codec(config: CodecConfig | dict[str, Any], source: str = "config") -> Codec:
    """Build a codec from its config (the `model:` section), parts looked up by name."""
    from codeckit.config import from_dict

    if not isinstance(config, CodecConfig):
        config = from_dict(CodecConfig, config, source=source, prefix="model.")
    rate = config.sample_rate
    encoder = ENCODERS.build(
        config.encoder, source=f"{source}: model.encoder", **_codec_rate(ENCODERS, config.encoder, rate)
    )
    quantizer = QUANTIZERS.build(config.quantizer, source=f"{source}: model.quantizer")
    decoder = DECODERS.build(
        config.decoder, source=f"{source}: model.decoder", **_codec_rate(DECODERS, config.decoder, rate)
    )
    cls = CODECS.get(config.name)
    check_kwargs(cls, {"sample_rate": config.sample_rate, "encoder": encoder, "quantizer": quantizer,
                       "decoder": decoder, "channels": config.channels, **config.extra},
                 f"{source}: model (codec '{config.name}')")  # fmt: skip
    codec = cls(config.sample_rate, encoder, quantizer, decoder, channels=config.channels, **config.extra)
    codec.config = config  # saved beside the weights by save_codec
    return codec


def _codec_rate(registry: Any, spec: Any, sample_rate: int) -> dict[str, int]:
    """`{"sample_rate": ...}` for a part whose constructor takes `sample_rate=None` (the codec's rate, filled in
    here: a pitch tracker or a synthesiser needs it) and whose spec does not set it; else nothing."""
    if not isinstance(spec, dict) or "name" not in spec or "sample_rate" in spec:
        return {}
    param = inspect.signature(registry.get(spec["name"])).parameters.get("sample_rate")
    return {"sample_rate": sample_rate} if param is not None and param.default is None else {}
