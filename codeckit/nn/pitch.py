"""YIN pitch tracking (de Cheveigné & Kawahara 2002) in batched torch: the F0 targets a source-filter decoder is
taught to predict from its codes.

One estimate per codec frame: frame t is centred on the middle of samples [t H, (t + 1) H), as the
decoder's frames are. Per frame, the difference function d(tau) over a `window`-sample integration window is
computed from an FFT cross-correlation and running energies, normalised by its cumulative mean (YIN's step
3), and the first lag whose value dips below `threshold` and then rises is taken (step 4), refined by a
parabola through its neighbours (step 5). A frame is voiced when that dip exists and its RMS is above
`silence_db` dBFS.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from codeckit.errors import ConfigError
from codeckit.nn.istft import frames_of, irdft_basis, rdft_basis

UNVOICED = -1.0  # the pitch channel's value in an unvoiced frame (any negative value reads as unvoiced)


class PitchScale(NamedTuple):
    """The pitch channel's scale: log-F0 mapped linearly to u in [0, 1] from `fmin` to `fmax` Hz, the one map
    the encoder writes, the pitch code steps on and the harmonic head reads back."""

    fmin: float
    fmax: float

    @classmethod
    def checked(cls, fmin: float, fmax: float, sample_rate: int, owner: str) -> PitchScale:
        """The scale, or a ConfigError naming `owner` unless 0 < fmin < fmax <= sample_rate / 2."""
        if not 0 < fmin < fmax <= sample_rate / 2:
            raise ConfigError(
                f"{owner}: need 0 < fmin < fmax <= sample_rate / 2, got fmin {fmin}, fmax {fmax}, "
                f"sample_rate {sample_rate}"
            )
        return cls(float(fmin), float(fmax))

    def to_unit(self, f0: torch.Tensor) -> torch.Tensor:
        """F0 in Hz -> u (1 at fmax, 0 at fmin)."""
        return (torch.log(f0) - math.log(self.fmin)) / math.log(self.fmax / self.fmin)

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        """u -> F0 in Hz (the inverse of `to_unit`)."""
        return torch.exp(math.log(self.fmin) + u * math.log(self.fmax / self.fmin))


class Pitch(NamedTuple):
    """What `yin_pitch` returns: F0 in Hz (B, N) (the best lag's estimate, also in unvoiced frames) and a voiced
    mask (B, N)."""

    f0: torch.Tensor
    voiced: torch.Tensor


def yin_pitch(
    audio: torch.Tensor,
    sample_rate: int,
    hop_length: int,
    fmin: float = 50.0,
    fmax: float = 550.0,
    threshold: float = 0.2,
    silence_db: float = -50.0,
) -> Pitch:
    """Audio (B, T) or (B, 1, T) -> `Pitch` with N = T // hop_length frames (float32, no gradient)."""
    PitchScale.checked(fmin, fmax, sample_rate, "yin_pitch")
    if audio.dim() == 3:
        if audio.shape[1] != 1:
            raise ValueError(f"yin_pitch takes mono audio (batch, 1, samples), got {tuple(audio.shape)}")
        audio = audio[:, 0]
    if audio.dim() != 2:
        raise ValueError(f"yin_pitch takes audio (batch, samples), got {tuple(audio.shape)}")
    with torch.no_grad():
        return _yin(audio.float(), sample_rate, hop_length, fmin, fmax, threshold, silence_db)


def _yin(
    audio: torch.Tensor, sr: int, hop: int, fmin: float, fmax: float, threshold: float, silence_db: float
) -> Pitch:
    n_frames = audio.shape[-1] // hop
    tau_min = max(2, int(math.floor(sr / fmax)))
    tau_max = int(math.ceil(sr / fmin))
    window = tau_max  # integration window: one period of the lowest F0
    span = window + tau_max + 1
    left = hop // 2 - span // 2  # frame start relative to t * hop, so the frame centres on block t's middle
    pad_left, pad_right = max(0, -left), span
    x = F.pad(audio, (pad_left, pad_right))
    start = left + pad_left
    frames = frames_of(x[:, start:], n_frames, span, hop)  # (B, N, span)
    frames = frames - frames.mean(-1, keepdim=True)
    head = frames[..., :window]
    size = 1 << (span + window).bit_length()  # no circular wrap
    corr = _lag_products(frames, head, size, tau_max)  # sum_j head[j] frame[j + tau], tau = 0..tau_max
    energy = F.pad(frames.pow(2).cumsum(-1), (1, 0))  # prefix sums
    lags = torch.arange(tau_max + 1, device=audio.device)
    e_tau = energy[..., lags + window] - energy[..., lags]  # energy of frame[tau : tau + window]
    diff = (energy[..., window : window + 1] + e_tau - 2 * corr).clamp_min(0)
    cum = diff[..., 1:].cumsum(-1)
    ratio = diff[..., 1:] * torch.arange(1, tau_max + 1, device=audio.device) / cum.clamp_min(1e-12)
    cmnd = torch.cat([torch.ones_like(diff[..., :1]), ratio], -1)
    search = cmnd[..., tau_min:tau_max]  # candidate lags tau_min .. tau_max - 1 (each has a right neighbour)
    nxt = cmnd[..., tau_min + 1 : tau_max + 1]
    dip = (search < threshold) & (search <= nxt)
    has_dip = dip.any(-1)
    first = torch.where(has_dip, dip.float().argmax(-1), search.argmin(-1)) + tau_min
    prev_v = cmnd.gather(-1, (first - 1)[..., None])[..., 0]
    here = cmnd.gather(-1, first[..., None])[..., 0]
    next_v = cmnd.gather(-1, (first + 1).clamp(max=tau_max)[..., None])[..., 0]
    curve = prev_v + next_v - 2 * here
    shift = torch.where(curve > 1e-9, 0.5 * (prev_v - next_v) / curve.clamp_min(1e-9), torch.zeros_like(curve))
    period = first.float() + shift.clamp(-1, 1)
    f0 = (sr / period).clamp(fmin, fmax)
    rms_db = 10 * torch.log10(head.pow(2).mean(-1).clamp_min(1e-12))
    voiced = has_dip & (rms_db > silence_db)
    return Pitch(f0, voiced)


def _lag_products(frames: torch.Tensor, head: torch.Tensor, size: int, tau_max: int) -> torch.Tensor:
    """(B, N, tau_max + 1): the cross-correlation of each frame with its head at lags 0..tau_max, through a DFT of
    `size` points: `torch.fft` when run eagerly, matmuls with fixed DFT bases when traced for ONNX (no FFT op)."""
    if not torch.jit.is_tracing():
        spectrum = torch.fft.rfft(frames, size) * torch.fft.rfft(head, size).conj()
        return torch.fft.irfft(spectrum, size)[..., : tau_max + 1]
    bins = size // 2 + 1
    f_re, f_im = (frames @ rdft_basis(frames.shape[-1], size).to(frames)).split(bins, -1)
    h_re, h_im = (head @ rdft_basis(head.shape[-1], size).to(head)).split(bins, -1)
    re, im = f_re * h_re + f_im * h_im, f_im * h_re - f_re * h_im
    lags = irdft_basis(size, torch.ones(size))[:, : tau_max + 1]  # the first samples of irfft(., size)
    return torch.cat([re, im], -1) @ lags.to(frames)
