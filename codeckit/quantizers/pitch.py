"""A pitch code beside any quantizer (`pitch_split`): the last latent channel is the encoder's F0 track, coded
on a fixed log scale, as Codec2 and LPCNet send pitch, instead of being learned into the acoustic codes.

Latents are (B, dim + 1, T): channels 0..dim-1 go to the inner quantizer (`quantizer`, any spec), the last holds
the normalised log-F0 u in [0, 1] of a voiced frame or a negative value for an unvoiced one (what the `vocos`
encoder with `pitch: true` writes). Its code is 0 for unvoiced and 1 + round(u * (levels - 2)) for voiced, so
`levels` = 128 spends 7 bits a frame and steps log-F0 by 1/126 of the encoder's range (1.9% from 50 to 550 Hz).
The pitch code is level 0, so `n_quantizers` = n keeps it and the inner quantizer's first n - 1 levels. The
pitch channel has no gradient (a fixed tracker wrote it) and adds no loss; decoding gives u, or -1 unvoiced.
"""

from __future__ import annotations

from typing import Any

import torch

from codeckit.errors import ConfigError
from codeckit.nn.pitch import UNVOICED
from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.common import check_latents
from codeckit.quantizers.errors import QuantizerError
from codeckit.registry import QUANTIZERS


@QUANTIZERS.register("pitch_split")
class PitchSplitQuantizer(Quantizer):
    """Level 0: the last latent channel on `levels` pitch codes; levels 1..: `quantizer` on the other channels."""

    def __init__(self, quantizer: dict[str, Any], levels: int = 128):
        super().__init__()
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 3:
            raise ConfigError(f"pitch_split: levels must be an int >= 3 (unvoiced + 2 pitches), got {levels!r}")
        self.inner = QUANTIZERS.build(quantizer, source="pitch_split.quantizer")
        self.levels = int(levels)
        self.dim = int(self.inner.dim) + 1
        self.codebook_sizes = [self.levels] + list(self.inner.codebook_sizes)
        self.strides = [1] + list(self.inner.strides)
        if any(s != 1 for s in self.inner.strides):
            raise ConfigError("pitch_split: the inner quantizer must code every latent frame (strides 1)")

    def _inner_levels(self, n_quantizers: int | None) -> int | None:
        if n_quantizers is None:
            return None
        if not 1 <= int(n_quantizers) <= self.n_levels:
            raise QuantizerError(f"pitch_split: n_quantizers must be in 1..{self.n_levels}, got {n_quantizers}")
        return int(n_quantizers) - 1

    def pitch_codes(self, pitch: torch.Tensor) -> torch.Tensor:
        """(B, T) pitch channel -> (B, T) int64 codes (0 unvoiced)."""
        steps = self.levels - 2
        voiced = torch.round(pitch.clamp(0, 1) * steps).long() + 1
        return torch.where(pitch >= 0, voiced, torch.zeros_like(voiced))

    def pitch_values(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) pitch codes -> (B, 1, T) channel values: u, or UNVOICED for code 0."""
        u = (codes - 1).float() / (self.levels - 2)
        return torch.where(codes > 0, u, torch.full_like(u, UNVOICED))[:, None]

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        check_latents(latents, self.dim, "pitch_split")
        n_inner = self._inner_levels(n_quantizers)
        codes = self.pitch_codes(latents[:, -1].detach())
        pitch = self.pitch_values(codes).to(latents.dtype)
        if n_inner == 0:
            rest = latents[:, :-1]
            return QuantizerOutput(torch.cat([torch.zeros_like(rest), pitch], 1), [codes], {}, {})
        out = self.inner(latents[:, :-1], n_inner)
        stats = {_shift_level(k): v for k, v in out.stats.items()}
        return QuantizerOutput(torch.cat([out.quantized, pitch], 1), [codes] + out.codes, out.losses, stats)

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        check_latents(latents, self.dim, "pitch_split")
        n_inner = self._inner_levels(n_quantizers)
        codes = [self.pitch_codes(latents[:, -1])]
        return codes if n_inner == 0 else codes + self.inner.encode(latents[:, :-1], n_inner)

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        if not isinstance(codes, (list, tuple)) or not 1 <= len(codes) <= self.n_levels:
            n = len(codes) if isinstance(codes, (list, tuple)) else type(codes).__name__
            raise QuantizerError(f"pitch_split: expected a list of 1..{self.n_levels} code tensors, got {n}")
        pitch = codes[0]
        if not torch.is_tensor(pitch) or pitch.dim() != 2 or pitch.min() < 0 or pitch.max() >= self.levels:
            raise QuantizerError(f"pitch_split: level 0 must be (batch, frames) codes in 0..{self.levels - 1}")
        values = self.pitch_values(pitch)
        if len(codes) == 1:
            zeros = values.new_zeros(values.shape[0], self.dim - 1, values.shape[-1])
            return torch.cat([zeros, values], 1)
        return torch.cat([self.inner.decode(list(codes[1:])), values], 1)

    def prepare_export(self) -> None:
        """The inner quantizer's `prepare_export`."""
        self.inner.prepare_export()

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """`encode` from elementwise pitch coding and the inner quantizer's traceable `export_encode`."""
        codes = [self.pitch_codes(latents[:, -1])]
        return codes + self.inner.export_encode(latents[:, :-1], n_quantizers - 1) if n_quantizers > 1 else codes

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """`decode` from elementwise pitch decoding and the inner quantizer's traceable `export_decode`."""
        return torch.cat([self.inner.export_decode(list(codes[1:])), self.pitch_values(codes[0])], 1)


def _shift_level(key: str) -> str:
    """A per-level statistic's key one level on ("utilization/0" -> "utilization/1"); others as they are."""
    name, _, level = key.rpartition("/")
    return f"{name}/{int(level) + 1}" if name and level.isdigit() else key
