"""Multi-scale discriminator (MelGAN): grouped 1-D conv stacks on the waveform at 1x, 1/2x, 1/4x rate."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput, check_audio, conv_stack, wn_conv1d
from codeckit.registry import DISCRIMINATORS


class ScaleDiscriminator(nn.Module):
    """One scale: a wide input conv, strided grouped convs (x4 channels each), then two plain convs."""

    def __init__(self, in_channels: int, base_channels: int, max_channels: int, n_downsample: int):
        super().__init__()
        layers = [wn_conv1d(in_channels, base_channels, 15, 1, padding=7)]
        prev = base_channels
        for _ in range(n_downsample):
            ch = min(prev * 4, max_channels)
            groups = math.gcd(max(1, prev // 4), prev, ch)
            layers.append(wn_conv1d(prev, ch, 41, 4, padding=20, groups=groups))
            prev = ch
        layers.append(wn_conv1d(prev, prev, 5, 1, padding=2))
        self.convs = nn.ModuleList(layers)
        self.post = wn_conv1d(prev, 1, 3, 1, padding=1)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return conv_stack(audio, self.convs, self.post, 0.2)


@DISCRIMINATORS.register("msd")
class MultiScaleDiscriminator(nn.Module):
    """MelGAN multi-scale discriminator: `n_scales` copies, each on audio average-pooled by 2 once more."""

    def __init__(
        self,
        n_scales: int = 3,
        base_channels: int = 16,
        max_channels: int = 1024,
        n_downsample: int = 4,
        channels: int = 1,
    ):
        super().__init__()
        if n_scales < 1:
            raise ValueError(f"msd needs n_scales >= 1, got {n_scales}")
        self.channels = channels
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(channels, base_channels, max_channels, n_downsample) for _ in range(n_scales)
        )

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, self.channels, "msd")
        out = []
        for i, d in enumerate(self.discriminators):
            if i:
                audio = F.avg_pool1d(audio, 4, 2, padding=2, count_include_pad=False)
            out.append(d(audio))
        return out
