"""EnCodec's loss balancer: each loss's gradient w.r.t. the decoded audio is rescaled by the running
average of its norm, so a loss weight sets its share of the gradient whatever its raw scale."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.distributed as dist
from torch import autograd


class Balancer:
    """Combine losses through their gradients w.r.t. `output`; call `backward_grad` then backprop it.

    grad = sum_i (w_i / sum w) * total_norm * g_i / ema(||g_i||), with the norm per batch item
    averaged over the batch, an EMA with bias correction (decay `ema_decay`), and norms averaged
    over ranks under torch.distributed.
    """

    def __init__(self, weights: Mapping[str, float], ema_decay: float = 0.999, total_norm: float = 1.0, eps=1e-12):
        if not weights or sum(weights.values()) <= 0:
            raise ValueError(f"balancer needs positive weights, got {dict(weights)}")
        self.weights = dict(weights)
        self.ema_decay, self.total_norm, self.eps = ema_decay, total_norm, eps
        self.norm_sum: dict[str, float] = {}
        self.norm_count: dict[str, float] = {}
        self.last_norms: dict[str, float] = {}

    def backward_grad(self, losses: Mapping[str, torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        """The balanced gradient for `output` (backpropagate it with `output.backward(grad)`)."""
        unknown = set(losses) - set(self.weights)
        if unknown:
            raise KeyError(f"balancer has no weight for losses {sorted(unknown)}")
        grads, norms = {}, {}
        for name, loss in losses.items():
            (g,) = autograd.grad(loss, output, retain_graph=True)
            grads[name] = g
            norms[name] = g.detach().flatten(1).norm(dim=1).mean()
        stacked = torch.stack([norms[k] for k in grads]).float()
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(stacked)
            stacked /= dist.get_world_size()
        total_w = sum(self.weights[k] for k in grads)
        out = torch.zeros_like(output)
        for name, norm in zip(grads, stacked.tolist()):
            d = self.ema_decay
            self.norm_sum[name] = d * self.norm_sum.get(name, 0.0) + norm
            self.norm_count[name] = d * self.norm_count.get(name, 0.0) + 1.0
            avg = self.norm_sum[name] / self.norm_count[name]
            self.last_norms[name] = norm
            scale = self.weights[name] / total_w * self.total_norm / (self.eps + avg)
            out = out + scale * grads[name]
        return out

    def state_dict(self) -> dict:
        """The running gradient-norm averages, for checkpoints."""
        return {"norm_sum": dict(self.norm_sum), "norm_count": dict(self.norm_count)}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore what `state_dict` gave."""
        self.norm_sum = dict(state["norm_sum"])
        self.norm_count = dict(state["norm_count"])
