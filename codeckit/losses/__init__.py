"""Losses: reconstruction (l1, mel, mrstft, complex_stft), adversarial (hinge, lsgan), feature matching, balancer.

Importing registers them with `codeckit.registry.LOSSES`.
"""

from codeckit.losses.adversarial import AdversarialLoss, FeatureMatchingLoss, HingeLoss, LeastSquaresLoss
from codeckit.losses.balancer import Balancer
from codeckit.losses.mel import MelSpectrogram, MultiScaleMelLoss, mel_filterbank
from codeckit.losses.reconstruction import CompressedComplexSTFTLoss, MultiResolutionSTFTLoss, WaveformL1Loss

__all__ = [
    "AdversarialLoss",
    "Balancer",
    "CompressedComplexSTFTLoss",
    "FeatureMatchingLoss",
    "HingeLoss",
    "LeastSquaresLoss",
    "MelSpectrogram",
    "MultiResolutionSTFTLoss",
    "MultiScaleMelLoss",
    "WaveformL1Loss",
    "mel_filterbank",
]
