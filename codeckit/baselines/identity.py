"""The identity codec: the payload is the float32 samples themselves. A sanity check for the leaderboard.

With `delay_s` it plays its output late by that much and declares no delay, which checks the leaderboard's
delay estimation against a known answer.
"""

from __future__ import annotations

import numpy as np
import torch

from codeckit.baselines.base import BaselineCodec, fit_length


class IdentityCodec(BaselineCodec):
    """Passes audio through unchanged (or `delay_s` late); its bitrate is that of raw 32-bit float PCM."""

    name = "identity"

    def __init__(self, sample_rate: int, channels: int = 1, delay_s: float = 0.0):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if not 0 <= delay_s <= 1:
            raise ValueError(f"delay_s must be 0..1 s, got {delay_s}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.shift = int(round(delay_s * self.sample_rate))
        self.delay_s = 0.0 if self.shift == 0 else None  # a delayed copy is left for the leaderboard to find

    def encode(self, audio: torch.Tensor) -> list[bytes]:
        audio = self._check(audio)
        return [item.numpy().astype("<f4").tobytes() for item in audio]

    def decode(self, payloads: list[bytes], length: int | None = None) -> torch.Tensor:
        items = [torch.from_numpy(np.frombuffer(p, dtype="<f4").reshape(self.channels, -1).copy()) for p in payloads]
        n = max(x.shape[-1] for x in items)
        out = torch.stack([fit_length(x, n) for x in items])
        return fit_length(torch.nn.functional.pad(out, (self.shift, 0)), length)

    def bitrate(self) -> float:
        return 32.0 * self.sample_rate * self.channels
