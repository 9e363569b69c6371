"""Adversarial losses (hinge, least squares) and feature matching over discriminator outputs.

Discriminator outputs are lists of `(logits, features)` pairs; losses are averaged over the
sub-discriminators so a weight means the same whatever the number of periods or scales.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput
from codeckit.registry import LOSSES


class AdversarialLoss(nn.Module):
    """Base: `generator(fake)` and `discriminator(real, fake)` over all sub-discriminators."""

    def gen_term(self, fake: torch.Tensor) -> torch.Tensor:
        """The generator's loss on one sub-discriminator's logits for generated audio."""
        raise NotImplementedError

    def disc_term(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss on one sub-discriminator's logits for real and generated audio."""
        raise NotImplementedError

    def generator(self, fake: DiscriminatorOutput) -> torch.Tensor:
        """Generator loss on the discriminators' outputs for generated audio."""
        return sum(self.gen_term(logits.float()) for logits, _ in fake) / len(fake)

    def discriminator(self, real: DiscriminatorOutput, fake: DiscriminatorOutput) -> torch.Tensor:
        """Discriminator loss: real pushed up, generated pushed down."""
        terms = [self.disc_term(r.float(), f.float()) for (r, _), (f, _) in zip(real, fake)]
        return sum(terms) / len(terms)


@LOSSES.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge GAN loss (EnCodec): D minimizes relu(1 - real) + relu(1 + fake), G minimizes relu(1 - fake)."""

    def gen_term(self, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - fake).mean()

    def disc_term(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


@LOSSES.register("lsgan")
class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN loss (HiFi-GAN, DAC): D targets 1 for real and 0 for fake, G targets 1."""

    def gen_term(self, fake: torch.Tensor) -> torch.Tensor:
        return ((1 - fake) ** 2).mean()

    def disc_term(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return ((1 - real) ** 2).mean() + (fake**2).mean()


class FeatureMatchingLoss(nn.Module):
    """L1 between the discriminators' features on generated and (detached) real audio, averaged over layers.

    With `relative=True` each layer's L1 is divided by the mean |real feature| (EnCodec's form).
    """

    def __init__(self, relative: bool = False, eps: float = 1e-8):
        super().__init__()
        self.relative, self.eps = relative, eps

    def forward(self, real: DiscriminatorOutput, fake: DiscriminatorOutput) -> torch.Tensor:
        """The loss; gradients reach the generated audio's features only."""
        terms = []
        for (_, feats_r), (_, feats_f) in zip(real, fake):
            for fr, ff in zip(feats_r, feats_f):
                fr = fr.detach().float()
                term = F.l1_loss(ff.float(), fr)
                if self.relative:
                    term = term / (fr.abs().mean() + self.eps)
                terms.append(term)
        return sum(terms) / len(terms)
