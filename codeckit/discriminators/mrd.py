"""DAC's multi-band multi-resolution STFT discriminator: per resolution, the complex spectrogram is split
into frequency bands, each band gets its own 2-D conv stack, and the band outputs are joined for the logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput, check_audio, complex_stft, wn_conv2d
from codeckit.registry import DISCRIMINATORS

DEFAULT_BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))


class BandedSTFTDiscriminator(nn.Module):
    """One resolution: a conv stack per frequency band; features are concatenated along frequency."""

    def __init__(self, n_fft: int, bands: Sequence[Sequence[float]], channels: int, c: int):
        super().__init__()
        self.n_fft = n_fft
        n_bins = n_fft // 2 + 1
        self.bands = [(int(lo * n_bins), int(hi * n_bins)) for lo, hi in bands]
        for lo, hi in self.bands:
            if hi <= lo:
                raise ValueError(f"mrd: band covers no bins at n_fft {n_fft}: {self.bands}")

        def stack() -> nn.ModuleList:
            return nn.ModuleList(
                [
                    wn_conv2d(2 * c, channels, (3, 9), padding=(1, 4)),
                    wn_conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(channels, channels, (3, 9), (1, 2), padding=(1, 4)),
                    wn_conv2d(channels, channels, (3, 3), padding=(1, 1)),
                ]
            )

        self.band_convs = nn.ModuleList(stack() for _ in self.bands)
        self.post = wn_conv2d(channels, 1, (3, 3), padding=(1, 1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spec = complex_stft(audio, self.n_fft, self.n_fft // 4).to(audio.dtype)
        feats, outs = [], []
        for (lo, hi), convs in zip(self.bands, self.band_convs):
            x = spec[..., lo:hi]
            for conv in convs:
                x = F.leaky_relu(conv(x), 0.1)
                feats.append(x)
            outs.append(x)
        x = self.post(torch.cat(outs, dim=-1))
        feats.append(x)
        return x.flatten(1), feats


@DISCRIMINATORS.register("mrd")
class MultiBandMultiResolutionDiscriminator(nn.Module):
    """DAC's MRD: `n_ffts` resolutions (hop n_fft / 4), `bands` as fractions of the spectrum."""

    def __init__(
        self,
        n_ffts: Sequence[int] = (2048, 1024, 512),
        bands: Sequence[Sequence[float]] = DEFAULT_BANDS,
        base_channels: int = 32,
        channels: int = 1,
    ):
        super().__init__()
        if not n_ffts:
            raise ValueError("mrd needs at least one n_fft")
        for band in bands:
            if len(band) != 2 or not 0.0 <= band[0] < band[1] <= 1.0:
                raise ValueError(f"mrd: each band must be [low, high] fractions with 0 <= low < high <= 1, got {band}")
        self.channels = channels
        self.discriminators = nn.ModuleList(
            BandedSTFTDiscriminator(int(n), bands, base_channels, channels) for n in n_ffts
        )

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, self.channels, "mrd")
        return [d(audio) for d in self.discriminators]
