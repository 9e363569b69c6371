"""An inverse-STFT head with a harmonic source: beside the Vocos magnitude and phase, a filter on a band-limited
pulse train at the F0 that the codes carry (`pitch_split` quantizer, `vocos` encoder with `pitch: true`).

Why: a Vocos head must draw every harmonic peak of a voiced frame itself (a 641-bin comb whose spacing moves
with F0), and at 2 kbps on a CPU budget it learns the envelope but leaves ~10 dB of noise between harmonics
(egs/synth_speech/RESULTS.md, the head oracles). Here the comb is given. Per frame,

    Y = M exp(i P) + v A * STFT(pulse train at F0)

with M, A >= 0 (exp of a linear map, clipped as Vocos clips M), P the predicted phase, v = 1 in voiced frames
and 0 in unvoiced ones, then the same `ISTFT` as `ISTFTHead`. The pulse train's phase runs on from frame to
frame, so its overlap-add is coherent by construction; unvoiced sounds and what the pulses miss are the direct
term's. The F0 is decoded, not predicted: the last latent channel is the pitch channel (normalised log-F0 u in
[0, 1] from `fmin` to `fmax`, negative when unvoiced).

Export: the pulse spectrum is a matmul with a windowed DFT basis when traced, so the decoder graph has no FFT
op. The pulse train's phase is summed from the first sample decoded. The torch-free runner's overlap-save
streaming decodes each chunk with its context, so the phase restarts at the context's edge. Streamed audio
then equals offline audio except for that phase: the same harmonics, shifted in time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.istft import ISTFT, MAX_MAGNITUDE, frames_of, rdft_basis


def pulse_train(f0: torch.Tensor, hop_length: int, sample_rate: int) -> torch.Tensor:
    """F0 per frame (B, N) in Hz -> (B, N * hop_length) sum of cos(k phase) over every harmonic k * F0 below
    Nyquist, scaled to unit RMS (sqrt(2 / K)); F0 is interpolated linearly between frame centres."""
    f = F.interpolate(f0[:, None].float(), scale_factor=hop_length, mode="linear", align_corners=False)[:, 0].double()
    cycles = torch.cumsum(f / sample_rate, dim=-1)
    phase = 2 * math.pi * (cycles - torch.floor(cycles))
    k = torch.floor(0.5 * sample_rate / f).clamp_min(1)
    half = torch.sin(0.5 * phase)
    small = half.abs() < 1e-6
    dirichlet = torch.where(small, k, torch.sin((k + 0.5) * phase) / (2 * torch.where(small, 1.0, half)) - 0.5)
    return (dirichlet * torch.sqrt(2 / k)).float()


def last_voiced(voiced: torch.Tensor) -> torch.Tensor:
    """(B, N) bool -> (B, N) int64: the index of the last voiced frame at or before each frame (the first voiced
    frame's before it, 0 when none is voiced).

    The running max of voiced indices, written without `cummax` (ONNX has none): the k-th voiced frame's index is
    scattered to slot k, then each frame reads slot (voiced frames so far - 1)."""
    b, n = voiced.shape
    frame = torch.arange(n, device=voiced.device).expand(b, n)
    count = torch.cumsum(voiced.long(), dim=-1)
    slot = torch.where(voiced, count - 1, torch.full_like(count, n))  # unvoiced frames write a spare slot
    table = torch.zeros(b, n + 1, dtype=torch.long, device=voiced.device).scatter(-1, slot, frame)
    return table.gather(-1, (count - 1).clamp_min(0))


class HarmonicISTFTHead(nn.Module):
    """Features (B, dim, N) and the pitch channel (B, N) -> audio (B, 1, N * hop_length) (non-causal framing)."""

    def __init__(self, dim: int, n_fft: int, hop_length: int, sample_rate: int, fmin: float, fmax: float):
        super().__init__()
        if not 0 < fmin < fmax <= sample_rate / 2:
            raise ConfigError(f"harmonic head: need 0 < fmin < fmax <= sample_rate / 2, got fmin {fmin}, fmax {fmax}")
        self.istft = ISTFT(n_fft, hop_length, causal=False)
        self.sample_rate, self.hop_length = int(sample_rate), int(hop_length)
        self.fmin, self.fmax = float(fmin), float(fmax)
        n_bins = self.istft.n_bins
        self.out = nn.Linear(dim, 3 * n_bins)  # log M, P, log A
        self.register_buffer("analysis", rdft_basis(n_fft, n_fft, self.istft.window), persistent=False)
        with torch.no_grad():
            self.out.bias[2 * n_bins :].fill_(math.log(0.01))  # start close to a plain Vocos head

    def pulse_spectrum(self, pitch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pitch channel (B, N) -> (real, imag) (B, N, n_bins) of the pulse train's STFT, framed as the ISTFT
        frames (frame t spans output samples [t H - left, t H - left + n_fft)), Hann analysis window, zero
        in unvoiced frames."""
        n = pitch.shape[-1]
        voiced = pitch >= 0
        held = pitch.gather(-1, last_voiced(voiced)).clamp(0, 1)  # unvoiced frames hold the last voiced F0
        f0 = torch.exp(math.log(self.fmin) + held * math.log(self.fmax / self.fmin))
        pulses = pulse_train(f0.float(), self.hop_length, self.sample_rate)
        ist = self.istft
        padded = F.pad(pulses, (ist.left, ist.n_fft - ist.hop_length - ist.left))
        frames = frames_of(padded, n, ist.n_fft, ist.hop_length)
        gate = voiced[..., None].to(frames.dtype)
        if torch.jit.is_tracing():  # no FFT op in ONNX: the windowed DFT as a matmul
            real, imag = (frames @ self.analysis).split(ist.n_bins, -1)
            return real * gate, imag * gate
        spectrum = torch.fft.rfft(frames * ist.window)
        return spectrum.real * gate, spectrum.imag * gate

    def forward(self, x: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
        log_m, phase, log_a = self.out(rearrange(x, "b c t -> b t c")).float().chunk(3, dim=-1)
        limit = math.log(MAX_MAGNITUDE)
        m, a = log_m.clamp(max=limit).exp(), log_a.clamp(max=limit).exp()
        pulse_re, pulse_im = self.pulse_spectrum(pitch.detach())
        real = m * torch.cos(phase) + a * pulse_re
        imag = m * torch.sin(phase) + a * pulse_im
        return self.istft(torch.cat([real, imag], dim=-1))
