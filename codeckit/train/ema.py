"""An exponential moving average of a model's weights (buffers are copied as they are)."""

from __future__ import annotations

import torch
from torch import nn


class WeightEMA:
    """ema = decay * ema + (1 - decay) * weights after each optimizer step; `state_dict()` is loadable
    into the model it tracks."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.param_names = {name for name, _ in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average toward `model`'s current weights (after an optimizer step)."""
        for k, v in model.state_dict().items():
            if k in self.param_names and v.is_floating_point():
                self.shadow[k].lerp_(v.detach(), 1.0 - self.decay)
            else:
                self.shadow[k].copy_(v)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged weights, keyed like the model's `state_dict`."""
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what `state_dict` gave."""
        for k, v in state.items():
            self.shadow[k].copy_(v)
