"""A unidirectional LSTM over (B, C, T) feature maps with a skip connection, as in SEANet's bottleneck.

State-dict layout: the torch LSTM is at attribute `lstm` (`<prefix>.lstm.weight_ih_l0`, ...). Streaming
state (see `codeckit.nn.streaming`): `h` and `c`, each (B, num_layers, dim), zeros at the start.
"""

from __future__ import annotations

import torch
from torch import nn

from codeckit.nn.checks import check_positive
from codeckit.nn.streaming import StreamingModule, check_batch


class StreamableLSTM(StreamingModule):
    """`y = LSTM(x) + x` (skip optional) over time; causal, so it streams with its (h, c) state."""

    def __init__(self, dim: int, num_layers: int = 2, skip: bool = True):
        super().__init__()
        check_positive("lstm", dim=dim, num_layers=num_layers)
        self.dim = int(dim)
        self.num_layers = int(num_layers)
        self.skip = bool(skip)
        self.lstm = nn.LSTM(dim, dim, num_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = x.permute(2, 0, 1)  # (T, B, C)
        if self.streaming_state is None:
            y, _ = self.lstm(seq)
        else:
            state = self.streaming_state
            check_batch(state["h"], x.shape[0])
            hc = (state["h"].transpose(0, 1).contiguous(), state["c"].transpose(0, 1).contiguous())
            y, (h, c) = self.lstm(seq, hc)
            state["h"], state["c"] = h.transpose(0, 1), c.transpose(0, 1)
        if self.skip:
            y = y + seq
        return y.permute(1, 2, 0)

    def _init_streaming_state(
        self, batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> dict[str, torch.Tensor]:
        shape = (batch_size, self.num_layers, self.dim)
        return {
            "h": torch.zeros(shape, device=device, dtype=dtype),
            "c": torch.zeros(shape, device=device, dtype=dtype),
        }
