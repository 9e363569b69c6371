"""Shared pieces of the discriminators: output convention, weight-normed convs, STFT front end.

Every discriminator maps audio `(B, C, T)` to a list with one `(logits, features)` pair per
sub-discriminator (period, scale, resolution): `logits` a tensor, `features` the list of
intermediate activations used by the feature-matching loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

DiscriminatorOutput = list[tuple[torch.Tensor, list[torch.Tensor]]]


def wn_conv1d(*args, **kwargs) -> nn.Module:
    """A weight-normed Conv1d."""
    return weight_norm(nn.Conv1d(*args, **kwargs))


def wn_conv2d(*args, **kwargs) -> nn.Module:
    """A weight-normed Conv2d."""
    return weight_norm(nn.Conv2d(*args, **kwargs))


def check_audio(audio: torch.Tensor, channels: int, name: str) -> None:
    """Raise ValueError unless `audio` is `(batch, channels, samples)`."""
    if audio.dim() != 3 or audio.shape[1] != channels:
        raise ValueError(f"{name} discriminator expects audio (batch, {channels}, samples), got {tuple(audio.shape)}")


def complex_stft(audio: torch.Tensor, n_fft: int, hop_length: int, center: bool = True) -> torch.Tensor:
    """Audio `(B, C, T)` -> real/imag channels `(B, 2C, frames, n_fft // 2 + 1)` (time, then frequency)."""
    b, c, t = audio.shape
    window = torch.hann_window(n_fft, device=audio.device, dtype=torch.float32)
    spec = torch.stft(
        audio.reshape(b * c, t).float(),
        n_fft,
        hop_length,
        n_fft,
        window,
        center=center,
        normalized=True,
        return_complex=True,
    )  # (B*C, F, frames)
    spec = torch.view_as_real(spec).reshape(b, c, spec.shape[-2], spec.shape[-1], 2)
    return spec.permute(0, 1, 4, 3, 2).reshape(b, 2 * c, spec.shape[3], spec.shape[2])


def conv_stack(
    x: torch.Tensor, convs: Iterable[nn.Module], post: nn.Module, slope: float
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`convs` (each followed by LeakyReLU `slope`) then the `post` conv: the logits, flattened per item, and
    every activation on the way, which the feature-matching loss compares."""
    feats = []
    for conv in convs:
        x = F.leaky_relu(conv(x), slope)
        feats.append(x)
    x = post(x)
    feats.append(x)
    return x.flatten(1), feats


class Discriminators(nn.Module):
    """Several discriminators run on the same audio; outputs are concatenated in config order."""

    def __init__(self, discriminators: Sequence[nn.Module]):
        super().__init__()
        self.discriminators = nn.ModuleList(discriminators)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        out: DiscriminatorOutput = []
        for d in self.discriminators:
            out.extend(d(audio))
        return out
