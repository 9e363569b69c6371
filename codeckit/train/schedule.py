"""Optimizers and learning-rate schedules: linear warmup, then constant, cosine, linear or exponential decay."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch

from codeckit.train.config import TrainSection


def lr_factor(
    kind: str, warmup_steps: int, total_steps: int, gamma: float = 0.999996, min_ratio: float = 0.0
) -> Callable[[int], float]:
    """The multiplier of the base LR at each step (for `torch.optim.lr_scheduler.LambdaLR`)."""

    def factor(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        t = step - warmup_steps
        span = max(1, total_steps - warmup_steps)
        if kind == "constant":
            return 1.0
        if kind == "exponential":
            return gamma**t
        frac = min(1.0, t / span)
        if kind == "cosine":
            return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac))
        if kind == "linear":
            return min_ratio + (1 - min_ratio) * (1 - frac)
        raise ValueError(f"unknown lr_decay '{kind}'")

    return factor


def build_optimizer(
    params: Iterable[torch.nn.Parameter], train: TrainSection, lr: float
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """`train.optimizer` over `params` at `lr` with the run's betas and weight decay, and its LR schedule;
    the codec and the discriminators each get one."""
    opt_cls = torch.optim.AdamW if train.optimizer == "adamw" else torch.optim.Adam
    opt = opt_cls(params, lr=lr, betas=tuple(train.betas), weight_decay=train.weight_decay)
    factor = lr_factor(train.lr_decay, train.warmup_steps, train.max_steps, train.lr_gamma, train.min_lr_ratio)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)
