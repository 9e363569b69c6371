"""Quantizers: vq, simvq, residual (dropout), multiscale, split (Mimi), fsq, kmeans (units), pitch_split.
Importing registers them."""

from codeckit.quantizers.base import Quantizer, QuantizerOutput
from codeckit.quantizers.centroids import KMeansQuantizer
from codeckit.quantizers.errors import QuantizerError
from codeckit.quantizers.fsq import FSQ
from codeckit.quantizers.level import SingleCodebook
from codeckit.quantizers.pitch import PitchSplitQuantizer
from codeckit.quantizers.residual import MultiScaleRVQ, ResidualQuantizer, ResidualVQ
from codeckit.quantizers.simvq import SimVQ
from codeckit.quantizers.split_rvq import SplitResidualVQ
from codeckit.quantizers.vq import VectorQuantizer

__all__ = [
    "FSQ",
    "KMeansQuantizer",
    "MultiScaleRVQ",
    "PitchSplitQuantizer",
    "Quantizer",
    "QuantizerError",
    "QuantizerOutput",
    "ResidualQuantizer",
    "ResidualVQ",
    "SimVQ",
    "SingleCodebook",
    "SplitResidualVQ",
    "VectorQuantizer",
]
