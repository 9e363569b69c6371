"""EnCodec's multi-scale STFT discriminator: 2-D convs over complex spectrograms (real, imag as channels)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput, check_audio, complex_stft, conv_stack, wn_conv2d
from codeckit.registry import DISCRIMINATORS


class STFTDiscriminator(nn.Module):
    """One resolution: (3, 9) convs, time-dilated 1, 2, 4 with frequency stride 2, then (3, 3) convs."""

    def __init__(
        self, n_fft: int, filters: int, max_filters: int, filters_scale: int, dilations: Sequence[int], c: int
    ):
        super().__init__()
        self.n_fft = n_fft
        layers = [wn_conv2d(2 * c, filters, (3, 9), padding=(1, 4))]
        prev = filters
        for i, d in enumerate(dilations):
            ch = min(filters * filters_scale ** (i + 1), max_filters)
            layers.append(wn_conv2d(prev, ch, (3, 9), (1, 2), dilation=(d, 1), padding=(d, 4)))
            prev = ch
        ch = min(filters * filters_scale ** (len(dilations) + 1), max_filters)
        layers.append(wn_conv2d(prev, ch, (3, 3), padding=(1, 1)))
        self.convs = nn.ModuleList(layers)
        self.post = wn_conv2d(ch, 1, (3, 3), padding=(1, 1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = complex_stft(audio, self.n_fft, self.n_fft // 4, center=False).to(audio.dtype)
        return conv_stack(x, self.convs, self.post, 0.2)


@DISCRIMINATORS.register("msstft")
class MultiScaleSTFTDiscriminator(nn.Module):
    """EnCodec MS-STFT discriminator over `n_ffts` (hop n_fft / 4, window n_fft); audio shorter than
    the largest window is zero-padded so every resolution sees at least one frame."""

    def __init__(
        self,
        n_ffts: Sequence[int] = (1024, 2048, 512, 256, 128),
        filters: int = 32,
        max_filters: int = 1024,
        filters_scale: int = 1,
        dilations: Sequence[int] = (1, 2, 4),
        channels: int = 1,
    ):
        super().__init__()
        if not n_ffts:
            raise ValueError("msstft needs at least one n_fft")
        self.channels = channels
        self.min_length = max(n_ffts)
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(int(n), filters, max_filters, filters_scale, dilations, channels) for n in n_ffts
        )

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, self.channels, "msstft")
        if audio.shape[-1] < self.min_length:
            audio = F.pad(audio, (0, self.min_length - audio.shape[-1]))
        return [d(audio) for d in self.discriminators]
