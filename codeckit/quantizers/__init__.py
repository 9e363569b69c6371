"""Quantizers: vq, simvq, residual (dropout), multiscale, fsq. Importing registers them."""

from codeckit.quantizers.base import Quantizer, QuantizerOutput

__all__ = ["Quantizer", "QuantizerOutput"]
