"""Inverse STFT in ops that export to ONNX, and the Vocos-style ISTFT head, causal or not.

`ISTFT` turns a one-sided spectrum into audio in ops the ONNX exporter knows (it has no inverse FFT):
1. frames = spectrum @ basis, the inverse real DFT with the Hann synthesis window folded in (a fixed
   (2 * n_bins, n_fft) matrix; the imaginary parts of the DC and Nyquist bins are ignored, as irfft does).
   Only traced graphs use the matmul; eager PyTorch (training) computes the same frames with
   `torch.fft.irfft`, which costs a tenth as much at n_fft 1280;
2. overlap-add at hop H: each frame is zero-padded to r = ceil(n_fft / H) blocks of H samples and block j
   of frame t is added to output block t + j, with r constant pads and adds (`torch.nn.functional.fold`
   would need ONNX opset 18's Col2Im; a conv_transpose1d with an identity kernel costs n_fft^2 MACs a frame);
3. division by the summed squared window (the envelope), as `torch.istft` does.

Non-causal ("same" padding, Vocos's default): (n_fft - H) // 2 samples are trimmed on the left and the rest
on the right, so T frames give T * H samples and frame t is centred on output block t, the block an STFT
front end with the same padding centres its frame t on. Against `torch.istft(center=True)` the output is
the same samples shifted by H / 2 (torch trims n_fft / 2). It needs the whole signal and cannot stream.

Causal: frame t starts at output block t and the (r - 1) * H samples that overhang the last frame are
trimmed on the right (as a causal `StreamableConvTranspose1d` trims kernel - stride), so output block t is
final as soon as frame t is in, and T frames give T * H samples aligned with blocks 0..T-1. The envelope
is the steady-state one (period H), i.e. the stream starts as if earlier frames were silent. While
streaming the pending overlap-add tail (`partial`, (B, (r - 1) * H) zeros at the start, = n_fft - H
samples when H divides n_fft) is carried to the next chunk, so streamed == offline. The head adds no
algorithmic latency: output block t needs no frame after t. The price is in the model: block t mixes
frames t - r + 1..t and frame t reaches it only through the window's rising edge, so the network must
place block t's content mostly in frames that have not seen it; a codec's algorithmic latency is then its
encoder's (one hop of buffering for a causal STFT front end).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_bool, check_positive
from codeckit.nn.streaming import StreamingError, StreamingModule, check_batch

MAX_MAGNITUDE = 1e2  # Vocos clips exp(log-magnitude) here


def irdft_basis(n_fft: int, window: torch.Tensor) -> torch.Tensor:
    """(2 * n_bins, n_fft) matrix M with `cat([real, imag], -1) @ M = irfft(real + i imag, n_fft) * window`."""
    n_bins = n_fft // 2 + 1
    k = torch.arange(n_bins, dtype=torch.float64)[:, None]
    n = torch.arange(n_fft, dtype=torch.float64)[None, :]
    angle = 2 * math.pi * k * n / n_fft
    scale = torch.full((n_bins, 1), 2.0, dtype=torch.float64)
    scale[0] = 1.0
    if n_fft % 2 == 0:
        scale[-1] = 1.0  # the Nyquist bin appears once
    cos = scale * torch.cos(angle) / n_fft
    sin = -scale * torch.sin(angle) / n_fft
    sin[0] = 0.0  # irfft ignores the imaginary parts of the DC and Nyquist bins
    if n_fft % 2 == 0:
        sin[-1] = 0.0
    return (torch.cat([cos, sin], 0) * window.double()[None, :]).float()


def rdft_basis(n: int, size: int, window: torch.Tensor | None = None) -> torch.Tensor:
    """(n, 2 * bins) matrix M with `x @ M = cat([rfft(x * window, size).real, .imag], -1)` for x of n <= size
    samples (zero-padded to size), bins = size // 2 + 1: the forward real DFT as one matmul, which ONNX exports."""
    k = torch.arange(size // 2 + 1, dtype=torch.float64)[None, :]
    t = torch.arange(n, dtype=torch.float64)[:, None]
    angle = 2 * math.pi * t * k / size
    basis = torch.cat([torch.cos(angle), -torch.sin(angle)], 1)
    return (basis if window is None else basis * window.double()[:, None]).float()


def frames_of(x: torch.Tensor, n_frames: int, length: int, hop: int) -> torch.Tensor:
    """(B, T) -> (B, n_frames, length): frame t is x[:, t * hop : t * hop + length], by one gather (which traces
    with a dynamic frame count, where `Tensor.unfold` does not)."""
    index = torch.arange(n_frames, device=x.device)[:, None] * hop + torch.arange(length, device=x.device)[None, :]
    return x[:, index]


class ISTFT(StreamingModule):
    """Spectrum (B, T, 2 * n_bins), real parts then imaginary parts per frame -> audio (B, 1, T * hop_length)."""

    def __init__(self, n_fft: int, hop_length: int, causal: bool = False):
        super().__init__()
        check_positive("istft", n_fft=n_fft, hop_length=hop_length)
        check_bool("istft", causal=causal)
        if n_fft < 2 * hop_length:
            raise ConfigError(
                f"istft: n_fft must be at least 2 * hop_length ({2 * hop_length}) for the Hann overlap-add to cover "
                f"every sample, got n_fft {n_fft}"
            )
        self.n_fft, self.hop_length, self.causal = int(n_fft), int(hop_length), bool(causal)
        self.n_bins = self.n_fft // 2 + 1
        self.blocks = -(-self.n_fft // self.hop_length)  # r: hop-sized blocks a frame spans
        self.tail = (self.blocks - 1) * self.hop_length  # pending samples after the last frame
        self.left = (self.n_fft - self.hop_length) // 2  # non-causal trim
        frame = self.blocks * self.hop_length
        window = torch.hann_window(self.n_fft, dtype=torch.float64)
        basis = F.pad(irdft_basis(self.n_fft, window), (0, frame - self.n_fft))
        squared = F.pad(window.pow(2), (0, frame - self.n_fft)).float()
        self.register_buffer("basis", basis, persistent=False)
        self.register_buffer("window", window.float(), persistent=False)
        self.register_buffer("window_sq", squared[None, None, :], persistent=False)  # (1, 1, frame)
        envelope = rearrange(squared, "(r h) -> r h", r=self.blocks).sum(0)
        self.register_buffer("steady_envelope", envelope, persistent=False)  # (hop,)

    def frames_matmul(self, spectrum: torch.Tensor) -> torch.Tensor:
        """(B, T, 2 * n_bins) -> windowed frames (B, T, r * hop) as one matmul (what the ONNX graph computes)."""
        return spectrum @ self.basis

    def frames_fft(self, spectrum: torch.Tensor) -> torch.Tensor:
        """`frames_matmul` through `torch.fft.irfft`: the same frames, ~10x cheaper to train at n_fft 1280.

        Computed in float32 (there are no bfloat16 complex tensors, so autocast's bf16 Linear output is cast).
        """
        real, imag = spectrum.float().chunk(2, dim=-1)
        frames = torch.fft.irfft(torch.complex(real, imag), n=self.n_fft) * self.window
        return F.pad(frames, (0, self.blocks * self.hop_length - self.n_fft))

    def overlap_add(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, r * hop) frames -> (B, (T + r - 1) * hop) samples, block j of frame t added to block t + j."""
        r = self.blocks
        blocks = rearrange(frames, "b t (r h) -> b t r h", r=r)
        out = blocks[:, :, 0]
        if r > 1:
            out = F.pad(out, (0, 0, 0, r - 1))
        for j in range(1, r):
            out = out + F.pad(blocks[:, :, j], (0, 0, j, r - 1 - j))
        return rearrange(out, "b t h -> b (t h)")

    def forward(self, spectrum: torch.Tensor) -> torch.Tensor:
        if spectrum.dim() != 3 or spectrum.shape[-1] != 2 * self.n_bins:
            raise ValueError(f"istft expects (batch, frames, {2 * self.n_bins}), got {tuple(spectrum.shape)}")
        y = self.overlap_add(self.frames_matmul(spectrum) if torch.jit.is_tracing() else self.frames_fft(spectrum))
        if not self.causal:
            envelope = self.overlap_add(self.window_sq.expand(1, spectrum.shape[1], -1))
            y = y / envelope.clamp_min(1e-11)
            return y[:, None, self.left : y.shape[-1] - (self.tail - self.left)]
        if self.streaming_state is not None:
            y = self._carry(y)
        if self.tail:
            y = y[:, : y.shape[-1] - self.tail]
        y = rearrange(y, "b (t h) -> b t h", h=self.hop_length) / self.steady_envelope
        return rearrange(y, "b t h -> b 1 (t h)")

    # -- streaming ----------------------------------------------------------------------------
    def _init_streaming_state(
        self, batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> dict[str, torch.Tensor]:
        if not self.causal:
            raise StreamingError("a non-causal inverse STFT trims output on the left and cannot stream exactly")
        if not self.tail:
            return {}
        return {"partial": torch.zeros(batch_size, self.tail, device=device, dtype=dtype)}

    def _state_device_dtype(self) -> tuple[torch.device, torch.dtype]:
        return self.basis.device, self.basis.dtype

    def _carry(self, y: torch.Tensor) -> torch.Tensor:
        """Add the pending tail of earlier chunks to `y` and keep `y`'s own tail for the next chunk."""
        state = self.streaming_state
        assert state is not None
        if not self.tail:
            return y
        partial = state["partial"]
        check_batch(partial, y.shape[0])
        y = torch.cat([y[:, : self.tail] + partial, y[:, self.tail :]], dim=-1)
        state["partial"] = y[:, y.shape[-1] - self.tail :]
        return y


class ISTFTHead(nn.Module):
    """Features (B, dim, T) -> audio (B, 1, T * hop_length): Linear to log-magnitude and phase, then `ISTFT`.

    Magnitude = exp(log-magnitude) clipped at 1e2 (the clip is taken on the log side, so a large input
    gives a zero gradient instead of inf * 0); the phase p enters as (cos p, sin p).
    """

    def __init__(self, dim: int, n_fft: int, hop_length: int, causal: bool = False):
        super().__init__()
        self.istft = ISTFT(n_fft, hop_length, causal)
        self.out = nn.Linear(dim, 2 * self.istft.n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        log_mag, phase = self.out(rearrange(x, "b c t -> b t c")).chunk(2, dim=-1)
        mag = log_mag.clamp(max=math.log(MAX_MAGNITUDE)).exp()
        return self.istft(torch.cat([mag * torch.cos(phase), mag * torch.sin(phase)], dim=-1))
