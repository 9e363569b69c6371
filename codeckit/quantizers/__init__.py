"""Quantizers: vq, simvq, residual (dropout), multiscale, fsq. Importing registers them."""

from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.errors import QuantizerError
from codeckit.quantizers.level import SingleCodebook
from codeckit.quantizers.residual import MultiScaleRVQ, ResidualQuantizer, ResidualVQ
from codeckit.quantizers.vq import VectorQuantizer

__all__ = [
    "MultiScaleRVQ",
    "Quantizer",
    "QuantizerError",
    "QuantizerOutput",
    "ResidualQuantizer",
    "ResidualVQ",
    "SingleCodebook",
    "VectorQuantizer",
]
