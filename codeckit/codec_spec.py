"""A codec's declaration as one frozen value: rate, channels, per-level hops and codebooks, padding, delay.

`Codec.spec` builds it from the model; the ONNX metadata (`codeckit.export`) and token file headers
(`codeckit.tokens.tokenfile`) store it and read it back. Torch-free, so the onnxruntime runner uses it too.
It is moshi's CompressionModel declaration under codeckit's names: `frame_rates[0]` is moshi's `frame_rate`,
`codebook_sizes` its `cardinality` (one per level) and `n_levels` its `num_codebooks`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from codeckit.metrics.bitrate import levels_used, nominal_bitrate


@dataclass(frozen=True)
class CodecSpec:
    """What a codec's codes mean: `sample_rate` Hz audio of `channels` channels, coded in multiples of
    `pad_multiple` samples; level l (coarse to fine) has one code per `hop_lengths[l]` samples from a codebook
    of `codebook_sizes[l]`; decoded audio lags the input by `delay` samples."""

    sample_rate: int
    channels: int
    hop_lengths: tuple[int, ...]
    codebook_sizes: tuple[int, ...]
    pad_multiple: int
    delay: int = 0

    def __post_init__(self) -> None:
        for name in ("sample_rate", "channels", "pad_multiple", "delay"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "hop_lengths", tuple(int(h) for h in self.hop_lengths))
        object.__setattr__(self, "codebook_sizes", tuple(int(s) for s in self.codebook_sizes))
        problem = self._problem()
        if problem:
            raise ValueError(f"invalid codec spec: {problem}")

    def _problem(self) -> str | None:
        """What makes the declaration inconsistent, or None."""
        if self.sample_rate < 1 or self.channels < 1 or self.pad_multiple < 1 or self.delay < 0:
            return (
                f"sample_rate {self.sample_rate}, channels {self.channels} and pad_multiple {self.pad_multiple} "
                f"must be positive and delay {self.delay} >= 0"
            )
        if not self.hop_lengths or len(self.hop_lengths) != len(self.codebook_sizes):
            return f"{len(self.hop_lengths)} hop lengths for {len(self.codebook_sizes)} codebooks"
        if min(self.hop_lengths) < 1 or min(self.codebook_sizes) < 1:
            return f"hop lengths {list(self.hop_lengths)} and codebook sizes {list(self.codebook_sizes)} must be >= 1"
        return None

    @classmethod
    def of_codes(
        cls, sample_rate: int, channels: int, hop_lengths: tuple[int, ...], codebook_sizes: tuple[int, ...]
    ) -> CodecSpec:
        """The spec that codes alone declare (a token file's header): padded to the hops' least common multiple."""
        return cls(sample_rate, channels, tuple(hop_lengths), tuple(codebook_sizes), math.lcm(*hop_lengths))

    # -- derived ------------------------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        """Number of code levels (moshi's `num_codebooks`)."""
        return len(self.codebook_sizes)

    @property
    def frame_rates(self) -> list[float]:
        """Codes per second, per level."""
        return [self.sample_rate / h for h in self.hop_lengths]

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Nominal bits per second with the first `n_quantizers` levels (all by default)."""
        return nominal_bitrate(self.sample_rate, self.hop_lengths, self.codebook_sizes, n_quantizers)

    def check_n_quantizers(self, n_quantizers: int | None, error: type[Exception] = ValueError, where: str = "") -> int:
        """`n_quantizers` levels as an int (None: all), or `error` (prefixed by `where`) if not in 1..n_levels."""
        return levels_used(n_quantizers, self.n_levels, error, where)

    def first(self, n_levels: int) -> CodecSpec:
        """The spec of the first `n_levels` levels (what an export of fewer quantizers declares)."""
        return replace(self, hop_lengths=self.hop_lengths[:n_levels], codebook_sizes=self.codebook_sizes[:n_levels])

    # -- serialised ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields as the ONNX metadata's `codec` object stores them (derived `n_levels` and
        `frame_rates` included; `delay` left out: the format has no key for it and every codec's is 0)."""
        return {
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "hop_lengths": list(self.hop_lengths),
            "codebook_sizes": list(self.codebook_sizes),
            "n_levels": self.n_levels,
            "pad_multiple": self.pad_multiple,
            "frame_rates": self.frame_rates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CodecSpec:
        """Parse `to_dict`'s fields (other keys, such as an export's own, are ignored); KeyError, TypeError or
        ValueError when a field is missing or wrong."""
        return cls(
            sample_rate=data["sample_rate"],
            channels=data["channels"],
            hop_lengths=tuple(data["hop_lengths"]),
            codebook_sizes=tuple(data["codebook_sizes"]),
            pad_multiple=data["pad_multiple"],
        )
