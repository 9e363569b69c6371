"""The adversary: the discriminators with their own optimizer, LR schedule and update step (audiocraft's
`AdversarialLoss.train_adv`), and the adversarial and feature-matching losses they give the codec."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from codeckit.discriminators import DiscriminatorOutput, Discriminators, build_discriminators
from codeckit.losses import FeatureMatchingLoss
from codeckit.registry import LOSSES
from codeckit.train import distributed as D
from codeckit.train.config import LossesConfig, TrainingConfig, TrainSection
from codeckit.train.schedule import build_optimizer
from codeckit.train.speed import Compiled, autocast, autocast_device
from codeckit.train.stateful import StateRegistry

STATE_KEYS = ("disc", "opt_d", "sched_d")  # the adversary's checkpoint keys (None in a run without one)
_MISSING = "has no discriminator state but the config names discriminators"


def split_batch(out: DiscriminatorOutput, n: int) -> tuple[DiscriminatorOutput, DiscriminatorOutput]:
    """Discriminator output on cat([real, fake]) -> (real part, fake part): one pass serves both halves."""
    real = [(lg[:n], [f[:n] for f in fs]) for lg, fs in out]
    fake = [(lg[n:], [f[n:] for f in fs]) for lg, fs in out]
    return real, fake


class Adversary:
    """Discriminators that learn real vs. decoded audio from `train.disc_start_step` on, and the codec's
    adversarial and feature-matching terms they give."""

    def __init__(self, disc: Discriminators, train: TrainSection, losses: LossesConfig, sample_rate: int):
        self.disc = disc
        self.start_step = train.disc_start_step
        self.grad_clip = train.disc_grad_clip or math.inf
        seconds = train.disc_segment_seconds
        self.window = None if seconds is None else int(seconds * sample_rate)
        self.loss = LOSSES.build(losses.adversarial, source="losses.adversarial")
        self.feature_loss = FeatureMatchingLoss(relative=losses.feature_matching_relative)
        self.opt, self.sched = build_optimizer(disc.parameters(), train, train.disc_lr or train.lr)
        self.device = next(disc.parameters()).device
        self.autocast_device = autocast_device(train.precision, self.device)
        self.disc_train: Any = disc  # what the update calls (DDP and/or torch.compile when asked)
        self.disc_gen: Any = disc  # what the codec's terms call (never DDP: the weights are frozen there)
        self.stateful = StateRegistry()
        for name, part in zip(STATE_KEYS, (disc, self.opt, self.sched)):
            self.stateful.part(name, part, missing=_MISSING)

    def distribute(self, device_ids: list[int] | None) -> None:
        """Run the update under DDP, so the discriminators' gradients are averaged over the ranks."""
        self.disc_train = DDP(self.disc, device_ids=device_ids)

    def compile(self) -> None:
        """torch.compile both passes (after `distribute`: the DDP-wrapped update compiles on its own)."""
        self.disc_gen = Compiled(self.disc, "discriminators")
        ddp = self.disc_train is not self.disc
        self.disc_train = Compiled(self.disc_train, "discriminators") if ddp else self.disc_gen

    def active(self, step: int) -> bool:
        """Whether the discriminators take part in the step after `step` steps done."""
        return step >= self.start_step

    def crop(self, audio: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same random window of real and decoded audio when `train.disc_segment_seconds` is set: the
        discriminators' cost grows with their input, the reconstruction losses still see the whole segment."""
        length = audio.shape[-1] if self.window is None else min(audio.shape[-1], self.window)
        if length >= audio.shape[-1]:
            return audio, fake
        start = int(torch.randint(0, audio.shape[-1] - length + 1, ()))
        return audio[..., start : start + length], fake[..., start : start + length]

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[bool, dict[str, float]]:
        """One discriminator step on `real` vs. (detached) `fake`; the step is skipped when the loss or the
        gradients are non-finite on any rank. Returns (step taken, logged scalars)."""
        self.disc.train()
        with autocast(self.autocast_device):
            out = self.disc_train(torch.cat([real, fake.detach()]))
        loss = self.loss.discriminator(*split_batch(out, real.shape[0]))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.disc.parameters(), self.grad_clip)
        ok = D.all_finite(self.device, loss, norm)
        if ok:
            self.opt.step()
        return ok, {"loss/discriminator": float(loss.detach()), "grad_norm/discriminator": float(norm.detach())}

    def generator_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The codec's `adversarial` and `feature_matching` losses on `fake`; the discriminators' weights get
        no gradient from them."""
        self.disc.requires_grad_(False)
        with autocast(self.autocast_device):
            real_out, fake_out = split_batch(self.disc_gen(torch.cat([real, fake])), real.shape[0])
        self.disc.requires_grad_(True)
        return {"adversarial": self.loss.generator(fake_out), "feature_matching": self.feature_loss(real_out, fake_out)}

    def lr(self) -> float:
        """The discriminators' current learning rate."""
        return self.opt.param_groups[0]["lr"]


def build_adversary(config: TrainingConfig, channels: int, sample_rate: int, device: torch.device) -> Adversary | None:
    """The run's adversary from `discriminators:`, `train:` and `losses:`; None when no discriminator is named."""
    if not config.discriminators:
        return None
    disc = build_discriminators(config.discriminators, channels=channels).to(device)
    return Adversary(disc, config.train, config.losses, sample_rate)
