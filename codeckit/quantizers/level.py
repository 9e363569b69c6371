"""A quantizer with one codebook, usable alone or as one level of a residual quantizer."""

from __future__ import annotations

import torch

from codeckit.export.errors import ExportError
from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.common import LevelOutput, check_codes, check_latents
from codeckit.quantizers.errors import QuantizerError


class SingleCodebook(Quantizer):
    """Subclasses implement `quantize`, `encode_level` and `decode_level`; the contract methods follow.

    A level that exports to ONNX also implements `export_encode_level` and `export_decode_level` (and
    `prepare_export` for what they read precomputed); residual quantizers compose them.
    """

    strides = [1]

    @property
    def codebook_size(self) -> int:
        """The number of codes of the one codebook."""
        return self.codebook_sizes[0]

    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        """Quantize (B, D, T) latents.

        `st_latents` (same values as `latents`) is where the straight-through gradient goes; a residual
        quantizer passes a differently-detached copy so that losses and output gradients take separate routes.
        `mask` (B,) marks the items this level is active for (quantizer dropout): only they count in the
        losses, statistics and codebook updates.
        """
        raise NotImplementedError

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, D, T) latents -> (B, T) int64 codes."""
        raise NotImplementedError

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 codes -> (B, D, T) quantized latents."""
        raise NotImplementedError

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level` in ops the ONNX exporter traces, every length taken from tensor shapes."""
        raise ExportError(f"quantizer level {type(self).__name__} has no ONNX export (no export_encode_level)")

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level` in ops the ONNX exporter traces, every length taken from tensor shapes."""
        raise ExportError(f"quantizer level {type(self).__name__} has no ONNX export (no export_decode_level)")

    def export_encode(self, latents: torch.Tensor, n_quantizers: int) -> list[torch.Tensor]:
        """The one level's traceable encode, as the contract's list."""
        return [self.export_encode_level(latents)]

    def export_decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """The one level's traceable decode of `codes[0]`."""
        return self.export_decode_level(codes[0])

    def _check_n(self, n_quantizers: int | None) -> None:
        if n_quantizers is not None and n_quantizers != 1:
            raise QuantizerError(f"{type(self).__name__} has one level; n_quantizers must be 1, got {n_quantizers}")

    def forward(self, latents: torch.Tensor, n_quantizers: int | None = None) -> QuantizerOutput:
        check_latents(latents, self.dim, type(self).__name__)
        self._check_n(n_quantizers)
        out = self.quantize(latents)
        return QuantizerOutput(out.quantized, [out.codes], out.losses, {f"{k}/0": v for k, v in out.stats.items()})

    def encode(self, latents: torch.Tensor, n_quantizers: int | None = None) -> list[torch.Tensor]:
        check_latents(latents, self.dim, type(self).__name__)
        self._check_n(n_quantizers)
        return [self.encode_level(latents)]

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        if not isinstance(codes, (list, tuple)) or len(codes) != 1:
            n = len(codes) if isinstance(codes, (list, tuple)) else type(codes).__name__
            raise QuantizerError(f"{type(self).__name__}: expected a list with one code tensor, got {n}")
        check_codes(codes[0], self.codebook_size, type(self).__name__)
        return self.decode_level(codes[0])
