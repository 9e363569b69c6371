"""The codec's side of the loss: reconstruction terms, the weight table, and their sum (or EnCodec's balancer)."""

from __future__ import annotations

import torch
from torch import nn

from codeckit.losses import Balancer
from codeckit.registry import LOSSES
from codeckit.train.config import QUANTIZER, LossesConfig


class CodecObjective:
    """Builds the `losses.reconstruction` modules and backpropagates the weighted total the codec learns from."""

    def __init__(self, losses: LossesConfig, sample_rate: int, device: torch.device, adversarial: bool):
        self.weights = losses.weights(adversarial)
        self.reconstruction: dict[str, nn.Module] = {}
        for i, (name, spec) in enumerate(zip(losses.reconstruction_names(), losses.reconstruction)):
            spec = {k: v for k, v in spec.items() if k != "weight"}
            loss = LOSSES.build(spec, source=f"losses.reconstruction[{i}]", sample_rate=sample_rate)
            self.reconstruction[name] = loss.to(device)
        self.balancer = Balancer(self.weights.balanced(), losses.balancer_ema_decay) if losses.balancer else None

    def reconstruction_terms(self, fake: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each reconstruction loss of decoded `fake` against `audio`, by name."""
        return {name: loss(fake, audio) for name, loss in self.reconstruction.items()}

    def backward(
        self, terms: dict[str, torch.Tensor], quantizer: dict[str, torch.Tensor], fake: torch.Tensor
    ) -> torch.Tensor:
        """Backpropagate the weighted `terms` (losses on `fake`) plus the quantizer's losses; returns the total.

        With the balancer the terms reach the codec through one balanced gradient on `fake` instead.
        """
        q_total = sum(
            (self.weights[QUANTIZER + k] * v.float() for k, v in quantizer.items()),
            torch.zeros((), device=fake.device),
        )
        total = sum(self.weights[k] * v for k, v in terms.items()) + q_total
        if self.balancer is None:
            total.backward()
            return total
        tensors, grads = [fake], [self.balancer.backward_grad(terms, fake)]
        if q_total.requires_grad:
            tensors.append(q_total)
            grads.append(torch.ones_like(q_total))
        torch.autograd.backward(tensors, grads)
        return total
