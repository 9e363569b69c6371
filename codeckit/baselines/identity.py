"""The identity codec: the payload is the float32 samples themselves. A sanity check for the leaderboard."""

from __future__ import annotations

import numpy as np
import torch

from codeckit.baselines.base import BaselineCodec, fit_length


class IdentityCodec(BaselineCodec):
    """Passes audio through unchanged; its bitrate is that of raw 32-bit float PCM."""

    name = "identity"

    def __init__(self, sample_rate: int, channels: int = 1):
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)

    def encode(self, audio: torch.Tensor) -> list[bytes]:
        audio = self._check(audio)
        return [item.numpy().astype("<f4").tobytes() for item in audio]

    def decode(self, payloads: list[bytes], length: int | None = None) -> torch.Tensor:
        items = [torch.from_numpy(np.frombuffer(p, dtype="<f4").reshape(self.channels, -1).copy()) for p in payloads]
        n = max(x.shape[-1] for x in items)
        return fit_length(torch.stack([fit_length(x, n) for x in items]), length)

    def bitrate(self) -> float:
        return 32.0 * self.sample_rate * self.channels
