"""A frequency-domain encoder / decoder pair after FunCodec's FreqCodec.

Encoder: STFT (torch.stft, Hann window) -> log-magnitude and phase as two channels of a (freq, time)
image -> 2-D SEANet-style stack (ELU residual units, strided 2-D convs with per-axis ratios) -> the
remaining frequency bins are folded into channels -> 1x1 conv to `dim` latent channels.
Decoder: the mirror image, ending in log-magnitude and phase channels -> complex spectrum -> inverse
STFT by windowed overlap-add. The STFT frame count is exactly samples / hop (zero padding of
(n_fft - hop) / 2 on each side), so lengths stay exact: hop_length = hop * prod(time ratios).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_positive, check_positive_list
from codeckit.registry import DECODERS, ENCODERS


def _check_ratios(ratios: Sequence[Sequence[int]], channels: Sequence[int]) -> list[tuple[int, int]]:
    """`ratios` as (freq, time) int pairs; ConfigError naming `ratios` or `channels` when they do not fit."""
    out = [tuple(int(v) for v in r) for r in ratios]
    if any(len(r) != 2 or min(r) < 1 for r in out):
        raise ConfigError(f"freqcodec: ratios must be [freq, time] pairs of positive ints, got {ratios}")
    if len(channels) != len(out) + 1:
        raise ConfigError(
            f"freqcodec: channels needs {len(out) + 1} entries (one per stage plus the input), got {len(channels)}"
        )
    check_positive_list("freqcodec", "channels", channels)
    return out


def _kernel(stride: int) -> int:
    """Kernel 2s for a strided axis, 3 for an unstrided one."""
    return 2 * stride if stride > 1 else 3


class Conv2d(nn.Module):
    """Weight-normed 2-D conv with zero 'same'-style padding: each axis of size n becomes floor(n / stride)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: tuple[int, int], stride: tuple[int, int] = (1, 1)):
        super().__init__()
        self.conv = weight_norm(nn.Conv2d(in_ch, out_ch, kernel, stride))
        pads = []
        for k, s in zip(reversed(kernel), reversed(stride)):  # F.pad order: last axis (time) first
            total = k - s
            pads += [total - total // 2, total // 2]
        self.pads = tuple(pads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.pads))


class ConvTranspose2d(nn.Module):
    """Weight-normed transposed 2-D conv, trimmed to a requested (freq, time) output size."""

    def __init__(self, in_ch: int, out_ch: int, kernel: tuple[int, int], stride: tuple[int, int]):
        super().__init__()
        self.conv = weight_norm(nn.ConvTranspose2d(in_ch, out_ch, kernel, stride))
        self.left = tuple(math.ceil((k - s) / 2) for k, s in zip(kernel, stride))

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        y = self.conv(x)
        (lf, lt), (nf, nt) = self.left, size
        return y[..., lf : lf + nf, lt : lt + nt]


class ResidualUnit2d(nn.Module):
    """x + conv1x1(ELU(conv3x3(ELU(x)))) with a bottleneck of half the channels."""

    def __init__(self, dim: int):
        super().__init__()
        hidden = max(dim // 2, 1)
        self.block = nn.Sequential(nn.ELU(), Conv2d(dim, hidden, (3, 3)), nn.ELU(), Conv2d(hidden, dim, (1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class STFT(nn.Module):
    """Exact-length STFT / inverse STFT pair: T samples (a multiple of hop) <-> T / hop frames."""

    def __init__(self, n_fft: int = 512, hop: int = 160):
        super().__init__()
        check_positive("stft", n_fft=n_fft, hop=hop)
        if n_fft < hop or (n_fft - hop) % 2:
            raise ConfigError(f"stft: n_fft - hop must be even and >= 0, got n_fft={n_fft}, hop={hop}")
        self.n_fft, self.hop, self.pad = int(n_fft), int(hop), (n_fft - hop) // 2
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    @property
    def n_bins(self) -> int:
        """Bins of the one-sided spectrum."""
        return self.n_fft // 2 + 1

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, T) -> complex (B, n_bins, T // hop)."""
        x = F.pad(audio, (self.pad, self.pad))
        return torch.stft(x, self.n_fft, self.hop, window=self.window, center=False, return_complex=True)

    def inverse(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex (B, n_bins, N) -> (B, N * hop) by windowed overlap-add, normalised by the window envelope."""
        n = spec.shape[-1]
        frames = torch.fft.irfft(spec, n=self.n_fft, dim=1) * self.window[None, :, None]
        total = (n - 1) * self.hop + self.n_fft
        fold = dict(output_size=(1, total), kernel_size=(1, self.n_fft), stride=(1, self.hop))
        y = F.fold(frames, **fold).reshape(spec.shape[0], total)
        env = F.fold(self.window.pow(2)[None, :, None].expand(1, -1, n), **fold).reshape(1, total)
        return (y / env.clamp_min(1e-8))[:, self.pad : self.pad + n * self.hop]


class _FreqStack(nn.Module):
    """What the encoder and decoder share: the checked ratios, the STFT, the hop and the bins left per stage."""

    def _setup(self, n_fft: int, hop: int, channels: Sequence[int], ratios: Sequence[Sequence[int]], dim: int) -> None:
        """Check the options (ConfigError naming the key) and keep ratios, stft, hop_length and freq_sizes."""
        check_positive("freqcodec", dim=dim)
        self.ratios = _check_ratios(ratios, channels)
        self.stft = STFT(n_fft, hop)
        self.hop_length = hop * math.prod(t for _, t in self.ratios)
        self.freq_sizes = [self.stft.n_bins]
        for f, _ in self.ratios:
            self.freq_sizes.append(self.freq_sizes[-1] // f)
        if self.freq_sizes[-1] < 1:
            raise ConfigError(f"freqcodec: frequency ratios {ratios} reduce {self.stft.n_bins} bins to none")


@ENCODERS.register("freqcodec")
class FreqEncoder(_FreqStack):
    """Audio (B, 1, T) -> latents (B, dim, T / (hop * prod(time ratios)))."""

    def __init__(
        self,
        n_fft: int = 512,
        hop: int = 160,
        channels: Sequence[int] = (16, 16, 32, 32, 64),
        ratios: Sequence[Sequence[int]] = ((4, 1), (4, 1), (4, 2), (4, 1)),
        dim: int = 128,
        log_eps: float = 1e-5,
    ):
        super().__init__()
        self._setup(n_fft, hop, channels, ratios, dim)
        self.log_eps = float(log_eps)
        self.dim = int(dim)
        layers: list[nn.Module] = [Conv2d(2, channels[0], (7, 7))]
        for (f, t), c_in, c_out in zip(self.ratios, channels[:-1], channels[1:]):
            layers += [ResidualUnit2d(c_in), nn.ELU(), Conv2d(c_in, c_out, (_kernel(f), _kernel(t)), (f, t))]
        layers += [nn.ELU(), Conv2d(channels[-1], channels[-1], (3, 3))]
        self.layers = nn.Sequential(*layers)
        self.proj = weight_norm(nn.Conv1d(channels[-1] * self.freq_sizes[-1], dim, 1))

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) -> (B, 2, n_bins, T / hop): log-magnitude and phase."""
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError(f"freqcodec encodes mono audio (batch, 1, samples), got {tuple(audio.shape)}")
        spec = self.stft(audio[:, 0])
        return torch.stack((spec.abs().clamp_min(self.log_eps).log(), spec.angle()), dim=1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.features(audio))
        return self.proj(h.flatten(1, 2))


@DECODERS.register("freqcodec")
class FreqDecoder(_FreqStack):
    """Latents (B, dim, N) -> audio (B, 1, N * hop * prod(time ratios)) through an inverse STFT."""

    def __init__(
        self,
        n_fft: int = 512,
        hop: int = 160,
        channels: Sequence[int] = (16, 16, 32, 32, 64),
        ratios: Sequence[Sequence[int]] = ((4, 1), (4, 1), (4, 2), (4, 1)),
        dim: int = 128,
        max_log_magnitude: float = 10.0,
    ):
        super().__init__()
        self._setup(n_fft, hop, channels, ratios, dim)
        self.max_log_magnitude = float(max_log_magnitude)
        self.channels = list(channels)
        self.proj = weight_norm(nn.Conv1d(dim, channels[-1] * self.freq_sizes[-1], 1))
        self.head = Conv2d(channels[-1], channels[-1], (3, 3))
        self.ups = nn.ModuleList()
        self.res = nn.ModuleList()
        for (f, t), c_in, c_out in reversed(list(zip(self.ratios, channels[:-1], channels[1:]))):
            self.ups.append(ConvTranspose2d(c_out, c_in, (_kernel(f), _kernel(t)), (f, t)))
            self.res.append(ResidualUnit2d(c_in))
        self.out = nn.Sequential(nn.ELU(), Conv2d(channels[0], 2, (7, 7)))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        b, _, n = latents.shape
        h = self.head(self.proj(latents).reshape(b, self.channels[-1], self.freq_sizes[-1], n))
        frames = n
        stages = list(zip(reversed(self.ratios), reversed(self.freq_sizes[:-1])))
        for up, res, ((_, t), n_freq) in zip(self.ups, self.res, stages):
            frames *= t
            h = res(up(F.elu(h), (n_freq, frames)))
        logmag, phase = self.out(h).unbind(1)
        spec = torch.polar(logmag.clamp(max=self.max_log_magnitude).exp(), phase)
        return self.stft.inverse(spec)[:, None]
