"""The codec's side of the loss: reconstruction terms, the weight table, and their sum (or EnCodec's balancer);
with `losses.distill`, also the semantic distillation of quantizer level 1 (codeckit/losses/distill.py)."""

from __future__ import annotations

import torch
from torch import nn

from codeckit.losses import Balancer
from codeckit.losses.distill import SemanticDistillation
from codeckit.registry import ENCODERS, LOSSES
from codeckit.train.config import DISTILL, QUANTIZER, DistillConfig, LossesConfig
from codeckit.train.stateful import StateRegistry


class CodecObjective:
    """Builds the `losses.reconstruction` modules and backpropagates the weighted total the codec learns from."""

    def __init__(
        self,
        losses: LossesConfig,
        sample_rate: int,
        device: torch.device,
        adversarial: bool,
        codec: nn.Module | None = None,
    ):
        self.weights = losses.weights(adversarial)
        self.reconstruction: dict[str, nn.Module] = {}
        for i, (name, spec) in enumerate(zip(losses.reconstruction_names(), losses.reconstruction)):
            spec = {k: v for k, v in spec.items() if k != "weight"}
            loss = LOSSES.build(spec, source=f"losses.reconstruction[{i}]", sample_rate=sample_rate)
            self.reconstruction[name] = loss.to(device)
        self.balancer = Balancer(self.weights.balanced(), losses.balancer_ema_decay) if losses.balancer else None
        self.distill = (
            None if losses.distill is None else build_distillation(losses.distill, codec, sample_rate, device)
        )

    def parameters(self) -> list[nn.Parameter]:
        """What the objective itself learns (the distillation's projection), trained with the codec."""
        return [] if self.distill is None else list(self.distill.projection.parameters())

    def distribute(self, device_ids: list[int] | None) -> None:
        """Under DDP: average the distillation projection's gradients over the ranks (nothing else to do)."""
        if self.distill is not None:
            self.distill.distribute(device_ids)

    def register_state(self, state: StateRegistry) -> None:
        """The checkpoint keys of the objective: `balancer`, and `distill` (the projection) only when distilling, so
        checkpoints of runs without it keep their keys."""
        state.part("balancer", self.balancer)
        if self.distill is not None:
            state.part("distill", self.distill.projection)

    def reconstruction_terms(self, fake: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each reconstruction loss of decoded `fake` against `audio`, by name (and `distill` when configured)."""
        terms = {name: loss(fake, audio) for name, loss in self.reconstruction.items()}
        if self.distill is not None:
            terms[DISTILL] = self.distill(audio)
        return terms

    def backward(
        self, terms: dict[str, torch.Tensor], quantizer: dict[str, torch.Tensor], fake: torch.Tensor
    ) -> torch.Tensor:
        """Backpropagate the weighted `terms` (losses on `fake`) plus the quantizer's losses; returns the total.

        With the balancer the terms reach the codec through one balanced gradient on `fake` instead.
        """
        direct = [self.weights[QUANTIZER + k] * v.float() for k, v in quantizer.items()]
        direct += [self.weights[DISTILL] * terms[DISTILL]] if DISTILL in terms else []
        q_total = sum(direct, torch.zeros((), device=fake.device))  # terms on latents: never balanced
        terms = {k: v for k, v in terms.items() if k != DISTILL}
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


def build_distillation(
    config: DistillConfig, codec: nn.Module | None, sample_rate: int, device: torch.device
) -> SemanticDistillation:
    """The frozen teacher (an encoder from the registry) and the projection of `codec`'s level 1, attached to it."""
    if codec is None:
        raise ValueError("losses.distill needs the codec (CodecObjective(..., codec=...))")
    spec = dict(config.teacher)
    rate = config.teacher_sample_rate or sample_rate
    if "sample_rate" in _arguments(ENCODERS.get(spec["name"])) and "sample_rate" not in spec:
        spec["sample_rate"] = rate  # a feature encoder computed at the rate it is given
    teacher = ENCODERS.build(spec, source="losses.distill.teacher")
    distill = SemanticDistillation(teacher, codec.quantizer.dim, sample_rate, rate, config.axis).to(device)
    distill.attach(codec)
    return distill


def _arguments(ctor) -> set[str]:
    import inspect

    return set(inspect.signature(ctor).parameters)
