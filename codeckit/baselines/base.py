"""What a classic-codec baseline is: bytes out of `encode`, audio out of `decode`, a declared bitrate.

Mirrors a neural codec's interface (`sample_rate`, `channels`, `encode`, `decode`, `bitrate`), with a
byte payload per batch item in place of token tensors, and `payload_bits` to count what was really spent.
"""

from __future__ import annotations

import abc

import torch


class BaselineCodec(abc.ABC):
    """A classic codec run on `(batch, channels, samples)` float32 audio at `sample_rate`."""

    name: str
    sample_rate: int
    channels: int = 1
    # Seconds by which decoded audio lags the input, as the codec documents it; None: not declared, and
    # the leaderboard estimates one delay for the codec over the whole test set.
    delay_s: float | None = 0.0

    @abc.abstractmethod
    def encode(self, audio: torch.Tensor) -> list[bytes]:
        """Audio `(B, C, T)` -> one payload per batch item."""

    @abc.abstractmethod
    def decode(self, payloads: list[bytes], length: int | None = None) -> torch.Tensor:
        """Payloads -> audio `(B, C, T)`, cut or zero-padded to `length` samples when given."""

    @abc.abstractmethod
    def bitrate(self) -> float:
        """Nominal bits per second, as the codec is configured."""

    def payload_bits(self, payload: bytes) -> int:
        """Bits of `payload` that carry audio (container framing excluded where there is one)."""
        return 8 * len(payload)

    def _check(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != self.channels:
            raise ValueError(f"{self.name}: audio must be (batch, {self.channels}, samples), got {tuple(audio.shape)}")
        return audio.detach().cpu().float()


def fit_length(audio: torch.Tensor, length: int | None) -> torch.Tensor:
    """Cut or zero-pad the last axis to `length` (unchanged when None)."""
    if length is None:
        return audio
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))
