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

Decoding in windows: the pulse train's phase restarts at the start of every frame that no voiced frame's
window reaches (a pause of four frames at hop 320 and n_fft 1280), and an unvoiced frame takes its F0 from
voiced frames at most two frames away. So a window decodes the pulses as the whole signal does wherever a
pause lies between the window's start and the frame: the API's long-audio chunks (2 s of context) and the
runner's overlap-save streams equal offline decoding on speech; a voiced stretch longer than the context
(sustained singing) restarts its phase at the window's start. Export: the pulse spectrum is a matmul with a
windowed DFT basis when traced, so the decoder graph has no FFT op.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from codeckit.nn.istft import ISTFT, MAX_MAGNITUDE, frames_of, rdft_basis
from codeckit.nn.pitch import UNVOICED, PitchScale


def pulse_train(f0: torch.Tensor, hop_length: int, sample_rate: int, reset: torch.Tensor | None = None) -> torch.Tensor:
    """F0 per frame (B, N) in Hz -> (B, N * hop_length) sum of cos(k phase) over every harmonic k * F0 below
    Nyquist, scaled to unit RMS (sqrt(2 / K)); F0 is interpolated linearly between frame centres.

    The phase is summed from the first sample, or, with `reset` (B, N) bool, from the start of the last reset
    frame at or before each frame (before the first reset: counted back from it), so that it depends only on the
    F0 since that reset, not on where decoding began."""
    f = F.interpolate(f0[:, None].float(), scale_factor=hop_length, mode="linear", align_corners=False)[:, 0].double()
    cycles = torch.cumsum(f / sample_rate, dim=-1)
    if reset is not None:
        b, n = reset.shape
        before = F.pad(cycles, (1, 0))  # before[:, s]: cycles of samples 0..s-1
        offset = before.gather(-1, last_true(reset) * hop_length)  # (B, N): at each frame's reset
        cycles = cycles - offset[:, :, None].expand(b, n, hop_length).reshape(b, n * hop_length)
    phase = 2 * math.pi * (cycles - torch.floor(cycles))
    k = torch.floor(0.5 * sample_rate / f).clamp_min(1)
    half = torch.sin(0.5 * phase)
    small = half.abs() < 1e-6
    dirichlet = torch.where(small, k, torch.sin((k + 0.5) * phase) / (2 * torch.where(small, 1.0, half)) - 0.5)
    return (dirichlet * torch.sqrt(2 / k)).float()


def last_true(mask: torch.Tensor) -> torch.Tensor:
    """(B, N) bool -> (B, N) int64: the index of the last true frame at or before each frame (the first true
    frame's before it, 0 when none is true).

    The running max of true indices, written without `cummax` (ONNX has none): the k-th true frame's index is
    scattered to slot k, then each frame reads slot (true frames so far - 1)."""
    b, n = mask.shape
    frame = torch.arange(n, device=mask.device).expand(b, n)
    count = torch.cumsum(mask.long(), dim=-1)
    slot = torch.where(mask, count - 1, torch.full_like(count, n))  # false frames write a spare slot
    table = torch.zeros(b, n + 1, dtype=torch.long, device=mask.device).scatter(-1, slot, frame)
    return table.gather(-1, (count - 1).clamp_min(0))


def nearby_f0(pitch: torch.Tensor, reach: int) -> torch.Tensor:
    """Pitch channel (B, N) -> u in [0, 1] for every frame: its own when voiced; an unvoiced frame takes the
    nearest voiced frame's within `reach` frames (earlier first), else 0. Local, so a window decodes it as the
    whole signal does."""
    voiced = pitch >= 0
    u, known = pitch.clamp(0, 1), voiced
    for shift in [s for k in range(1, reach + 1) for s in (k, -k)]:
        pad = (shift, 0) if shift > 0 else (0, -shift)
        start = 0 if shift > 0 else -shift
        moved = F.pad(pitch, pad, value=UNVOICED)[:, start : start + pitch.shape[-1]]
        take = ~known & (moved >= 0)
        u, known = torch.where(take, moved, u), known | take
    return torch.where(known, u, torch.zeros_like(u))


class HarmonicISTFTHead(nn.Module):
    """Features (B, dim, N) and the pitch channel (B, N) -> audio (B, 1, N * hop_length) (non-causal framing)."""

    def __init__(self, dim: int, n_fft: int, hop_length: int, sample_rate: int, fmin: float, fmax: float):
        super().__init__()
        self.scale = PitchScale.checked(fmin, fmax, sample_rate, "harmonic head")
        self.istft = ISTFT(n_fft, hop_length, causal=False)
        self.sample_rate, self.hop_length = int(sample_rate), int(hop_length)
        n_bins = self.istft.n_bins
        self.out = nn.Linear(dim, 3 * n_bins)  # log M, P, log A
        self.register_buffer("analysis", rdft_basis(n_fft, n_fft, self.istft.window), persistent=False)
        left = self.istft.left  # frame t spans output samples [t H - left, t H - left + n_fft)
        # the frames t + a .. t + b whose windows hold sample t H
        self.window_frames = (-((n_fft - left - 1) // hop_length), left // hop_length)
        with torch.no_grad():
            self.out.bias[2 * n_bins :].fill_(math.log(0.01))  # start close to a plain Vocos head

    def resets(self, voiced: torch.Tensor) -> torch.Tensor:
        """(B, N) bool: frames whose block start lies in no voiced frame's window (frames t + a .. t + b all
        unvoiced, `self.window_frames`), where the pulse phase restarts unheard."""
        a, b = self.window_frames
        near = F.max_pool1d(F.pad(voiced.float()[:, None], (-a, b)), b - a + 1, stride=1)[:, 0]
        return near == 0

    def pulse_spectrum(self, pitch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pitch channel (B, N) -> (real, imag) (B, N, n_bins) of the pulse train's STFT, framed as the ISTFT
        frames (frame t spans output samples [t H - left, t H - left + n_fft)), Hann analysis window, zero
        in unvoiced frames."""
        n = pitch.shape[-1]
        voiced = pitch >= 0
        f0 = self.scale.from_unit(nearby_f0(pitch, max(-self.window_frames[0], self.window_frames[1])))
        pulses = pulse_train(f0.float(), self.hop_length, self.sample_rate, self.resets(voiced))
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
