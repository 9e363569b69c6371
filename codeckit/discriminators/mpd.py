"""Multi-period discriminator (HiFi-GAN): audio folded into `(T / p, p)` images, one 2-D conv stack per period."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput, check_audio, conv_stack, wn_conv2d
from codeckit.registry import DISCRIMINATORS


class PeriodDiscriminator(nn.Module):
    """One period: strided (k, 1) convolutions over the folded signal, so each column is judged alone."""

    def __init__(self, period: int, channels: Sequence[int], in_channels: int = 1, kernel_size: int = 5):
        super().__init__()
        self.period = period
        pad = (kernel_size - 1) // 2
        layers, prev = [], in_channels
        for i, ch in enumerate(channels):
            stride = 3 if i < len(channels) - 1 else 1
            layers.append(wn_conv2d(prev, ch, (kernel_size, 1), (stride, 1), padding=(pad, 0)))
            prev = ch
        self.convs = nn.ModuleList(layers)
        self.post = wn_conv2d(prev, 1, (3, 1), 1, padding=(1, 0))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = audio.shape
        extra = (-t) % self.period
        if extra:
            audio = F.pad(audio, (0, extra), mode="reflect" if extra < t else "constant")
        x = audio.reshape(b, c, -1, self.period)
        return conv_stack(x, self.convs, self.post, 0.1)


@DISCRIMINATORS.register("mpd")
class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN / DAC multi-period discriminator; channels grow x4 per layer from `base_channels` to `max_channels`."""

    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        base_channels: int = 32,
        max_channels: int = 1024,
        n_layers: int = 5,
        channels: int = 1,
    ):
        super().__init__()
        if not periods:
            raise ValueError("mpd needs at least one period")
        widths = [min(base_channels * 4**i, max_channels) for i in range(n_layers)]
        self.channels = channels
        self.discriminators = nn.ModuleList(PeriodDiscriminator(int(p), widths, channels) for p in periods)

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, self.channels, "mpd")
        return [d(audio) for d in self.discriminators]
