"""Fixed signal-processing layers of the feature extractors, in ops that export to ONNX.

`FramePower`: audio (B, 1, T) -> power spectrum (B, n_fft // 2 + 1, T / hop), one centred frame per hop. Each
frame's DC removal, pre-emphasis, window and zero-padded DFT are linear in its samples, so together they are one
fixed (2 * bins, win_length) matrix applied as a strided `StreamableConv1d` (as `codeckit.nn.vocos` computes
its STFT); the matrix is a buffer rebuilt from the options, never saved. `mel_banks`, `dct_matrix`, `lifter` and
`Deltas` follow Kaldi's `compute-mfcc-feats` and torchaudio's `compute_deltas`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_choice, check_positive
from codeckit.nn.conv import StreamableConv1d

WINDOWS = ("povey", "hann", "hamming", "rectangular")


def window(kind: str, length: int) -> torch.Tensor:
    """A symmetric analysis window of `length` samples (float64): Kaldi's povey (Hann ** 0.85), Hann, Hamming."""
    n = torch.arange(length, dtype=torch.float64)
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * n / (length - 1))
    if kind == "povey":
        return hann.pow(0.85)
    if kind == "hann":
        return hann
    if kind == "hamming":
        return 0.54 - 0.46 * torch.cos(2 * math.pi * n / (length - 1))
    return torch.ones(length, dtype=torch.float64)


def frame_operator(win_length: int, kind: str, preemphasis: float, remove_dc: bool) -> torch.Tensor:
    """The (win_length, win_length) float64 map from a frame's raw samples to its windowed, pre-emphasised samples.

    Kaldi's order: subtract the frame mean, then x[i] -= p * x[i - 1] (x[0] -= p * x[0]), then the window."""
    op = torch.eye(win_length, dtype=torch.float64)
    if remove_dc:
        op = op - 1.0 / win_length
    if preemphasis:
        emph = torch.eye(win_length, dtype=torch.float64) - preemphasis * torch.diag(
            torch.ones(win_length - 1, dtype=torch.float64), -1
        )
        emph[0, 0] = 1.0 - preemphasis
        op = emph @ op
    return window(kind, win_length)[:, None] * op


class FramePower(nn.Module):
    """Audio (B, 1, T) -> power spectrum (B, n_fft // 2 + 1, ceil(T / hop)), frame t centred on hop t."""

    def __init__(
        self,
        win_length: int,
        hop_length: int,
        n_fft: int,
        window_type: str = "povey",
        preemphasis: float = 0.97,
        remove_dc: bool = True,
    ):
        super().__init__()
        where = "features"
        check_positive(where, win_length=win_length, hop_length=hop_length, n_fft=n_fft)
        check_choice(where, "window", window_type, WINDOWS)
        if n_fft < win_length or win_length < hop_length:
            raise ConfigError(
                f"{where}: need hop_length <= win_length <= n_fft, got {hop_length}, {win_length}, {n_fft}"
            )
        if not 0.0 <= float(preemphasis) < 1.0:
            raise ConfigError(f"{where}: preemphasis must be in [0, 1), got {preemphasis!r}")
        self.n_bins = n_fft // 2 + 1
        self.hop_length = int(hop_length)
        k = torch.arange(self.n_bins, dtype=torch.float64)[:, None]
        n = torch.arange(win_length, dtype=torch.float64)[None, :]
        angle = 2 * math.pi * k * n / n_fft  # the DFT of the frame zero-padded to n_fft
        dft = torch.cat([torch.cos(angle), -torch.sin(angle)])
        basis = dft @ frame_operator(win_length, window_type, float(preemphasis), remove_dc)
        self.dft = StreamableConv1d(1, 2 * self.n_bins, win_length, stride=hop_length, bias=False)
        conv = self.dft.conv
        del conv.weight  # a fixed transform, not a parameter
        conv.register_buffer("weight", basis.float()[:, None, :], persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        real, imag = self.dft(audio).chunk(2, dim=1)
        return real * real + imag * imag


def mel_banks(
    n_mels: int, n_fft: int, sample_rate: int, low_hz: float = 20.0, high_hz: float | None = None
) -> torch.Tensor:
    """Kaldi's triangular mel filters (mel = 1127 ln(1 + f / 700)) over the n_fft // 2 + 1 bins: (n_mels, bins)."""
    high_hz = sample_rate / 2 if high_hz is None or high_hz <= 0 else float(high_hz)
    if not 0 <= low_hz < high_hz <= sample_rate / 2:
        raise ConfigError(f"features: need 0 <= low_hz < high_hz <= {sample_rate / 2}, got {low_hz}, {high_hz}")

    def mel(f: torch.Tensor) -> torch.Tensor:
        return 1127.0 * torch.log1p(f / 700.0)

    lo, hi = mel(torch.tensor(float(low_hz), dtype=torch.float64)), mel(torch.tensor(high_hz, dtype=torch.float64))
    edges = lo + (hi - lo) * torch.arange(n_mels + 2, dtype=torch.float64) / (n_mels + 1)
    bins = mel(torch.arange(n_fft // 2 + 1, dtype=torch.float64) * sample_rate / n_fft)[None, :]
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up, down = (bins - left) / (centre - left), (right - bins) / (right - centre)
    return torch.clamp(torch.minimum(up, down), min=0.0)


def dct_matrix(n_ceps: int, n_mels: int) -> torch.Tensor:
    """Kaldi's orthonormal DCT-II rows 0..n_ceps-1: (n_ceps, n_mels), float64."""
    k = torch.arange(n_ceps, dtype=torch.float64)[:, None]
    n = torch.arange(n_mels, dtype=torch.float64)[None, :]
    out = math.sqrt(2.0 / n_mels) * torch.cos(math.pi / n_mels * (n + 0.5) * k)
    out[0] = math.sqrt(1.0 / n_mels)
    return out


def lifter(n_ceps: int, q: float) -> torch.Tensor:
    """Kaldi's cepstral liftering weights 1 + q / 2 sin(pi i / q) (all ones when q is 0): (n_ceps,), float64."""
    i = torch.arange(n_ceps, dtype=torch.float64)
    return 1.0 + 0.5 * q * torch.sin(math.pi * i / q) if q else torch.ones(n_ceps, dtype=torch.float64)


class Deltas(nn.Module):
    """(B, C, T) -> (B, C * (order + 1), T): the features, their deltas and delta-deltas over +-`width` frames.

    d[t] = sum_n n (c[t + n] - c[t - n]) / (2 sum_n n^2), edge frames repeated (torchaudio's `compute_deltas`)."""

    def __init__(self, channels: int, order: int = 2, width: int = 2):
        super().__init__()
        self.channels, self.order, self.width = int(channels), int(order), int(width)
        n = torch.arange(-width, width + 1, dtype=torch.float64)
        kernel = n / (2 * (n[width + 1 :] ** 2).sum())
        self.register_buffer("kernel", kernel.float().repeat(self.channels, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = [x]
        for _ in range(self.order):
            padded = torch.cat([x[..., :1].expand(-1, -1, self.width), x, x[..., -1:].expand(-1, -1, self.width)], -1)
            x = nn.functional.conv1d(padded, self.kernel, groups=self.channels)
            out.append(x)
        return torch.cat(out, dim=1)
