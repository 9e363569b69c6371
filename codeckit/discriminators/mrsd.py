"""Vocos / UnivNet multi-resolution spectrogram discriminator: 2-D convs over STFT magnitudes.

Unlike `msstft` (EnCodec, complex spectrogram) and `mrd` (DAC, complex, per frequency band), each
resolution sees only the magnitude |STFT| as a one-channel (frequency, time) image per audio channel:
conv (7, 5) stride (2, 2), (5, 3) stride (2, 1), (5, 3) stride (2, 2), (3, 3) stride (2, 1),
(3, 3) stride (2, 2), each weight-normed and followed by LeakyReLU 0.1, then a (3, 3) conv to the logits.
Every activation is a feature map for feature matching.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.discriminators.base import DiscriminatorOutput, check_audio, conv_stack, wn_conv2d
from codeckit.errors import ConfigError
from codeckit.registry import DISCRIMINATORS

# Vocos's (n_fft, hop, window) triples (designed at 24 kHz; they serve 16 kHz as well)
DEFAULT_RESOLUTIONS = ((1024, 256, 1024), (2048, 512, 2048), (512, 128, 512))
_LAYERS = (((7, 5), (2, 2)), ((5, 3), (2, 1)), ((5, 3), (2, 2)), ((3, 3), (2, 1)), ((3, 3), (2, 2)))


class SpectrogramDiscriminator(nn.Module):
    """One resolution: audio (B, C, T) -> (logits (B, n), feature maps)."""

    def __init__(self, n_fft: int, hop_length: int, win_length: int, filters: int, channels: int, slope: float):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.slope = slope
        self.register_buffer("window", torch.hann_window(win_length), persistent=False)
        convs, prev = [], channels
        for kernel, stride in _LAYERS:
            convs.append(wn_conv2d(prev, filters, kernel, stride, padding=(kernel[0] // 2, kernel[1] // 2)))
            prev = filters
        self.convs = nn.ModuleList(convs)
        self.post = wn_conv2d(filters, 1, (3, 3), padding=(1, 1))

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Audio (B, C, T) -> magnitudes (B, C, n_fft // 2 + 1, frames), centred frames, Hann window."""
        b, c, t = audio.shape
        spec = torch.stft(
            audio.reshape(b * c, t).float(),
            self.n_fft,
            self.hop_length,
            self.win_length,
            self.window,
            center=True,
            return_complex=True,
        ).abs()
        return spec.reshape(b, c, spec.shape[-2], spec.shape[-1]).to(audio.dtype)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.spectrogram(audio)
        return conv_stack(x, self.convs, self.post, self.slope)


@DISCRIMINATORS.register("mrsd")
class MultiResolutionSpectrogramDiscriminator(nn.Module):
    """Vocos's multi-resolution discriminator: one `SpectrogramDiscriminator` per (n_fft, hop, window).

    Audio shorter than half the largest n_fft is zero-padded (the centred STFT reflects that much).
    """

    def __init__(
        self,
        resolutions: Sequence[Sequence[int]] = DEFAULT_RESOLUTIONS,
        filters: int = 64,
        slope: float = 0.1,
        channels: int = 1,
    ):
        super().__init__()
        if not resolutions:
            raise ConfigError("mrsd: resolutions needs at least one [n_fft, hop, window] triple")
        for res in resolutions:
            ok = len(res) == 3 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in res)
            if not ok or not res[1] <= res[2] <= res[0]:
                raise ConfigError(
                    f"mrsd: each of resolutions must be [n_fft, hop, window] with hop <= window <= n_fft, got {res}"
                )
        if isinstance(filters, bool) or not isinstance(filters, int) or filters < 1:
            raise ConfigError(f"mrsd: filters must be an integer >= 1, got {filters!r}")
        self.channels = channels
        self.min_length = max(r[0] for r in resolutions) // 2 + 1
        self.discriminators = nn.ModuleList(
            SpectrogramDiscriminator(n, h, w, filters, channels, float(slope)) for n, h, w in resolutions
        )

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        check_audio(audio, self.channels, "mrsd")
        if audio.shape[-1] < self.min_length:
            audio = F.pad(audio, (0, self.min_length - audio.shape[-1]))
        return [d(audio) for d in self.discriminators]
