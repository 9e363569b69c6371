"""A frame-rate codec's encoder and decoder after Vocos, registered as `vocos`: all the work at the code rate.

Encoder: audio (B, 1, T) -> `STFTFeatures` (an STFT at hop = the codec hop, computed as a strided conv with
a fixed windowed-DFT basis) -> ConvNeXt backbone -> 1x1 conv to `latent_dim`, one latent frame per hop.
Decoder: latents (B, latent_dim, N) -> ConvNeXt backbone (embedding conv k7, blocks, final LayerNorm)
-> optional x`upsample` transposed conv -> ISTFT head at hop `hop_length / upsample` -> (B, 1, N * hop_length).

Alignment: non-causal, STFT frame t and ISTFT frame t are both centred on samples [t H, (t + 1) H).
Causal (`causal: true` on both), every conv is causal and the ISTFT is trimmed on the right
(`codeckit.nn.istft`): code t depends on samples up to (t + 1) H and decoded block t on codes up to t, so
offline decode of T samples gives T samples aligned with the input, streamed chunks equal one offline
pass, and the algorithmic latency is one hop of input buffering.
"""

from __future__ import annotations

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_bool, check_choice, check_positive
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.convnext import ConvNeXtBackbone
from codeckit.nn.harmonic import HarmonicISTFTHead
from codeckit.nn.istft import ISTFTHead, rdft_basis
from codeckit.nn.pitch import UNVOICED, PitchScale, yin_pitch
from codeckit.nn.streaming import Streamable
from codeckit.registry import DECODERS, ENCODERS

HEADS = ("istft", "harmonic")
LOG_FLOOR = 1e-5  # default magnitude floor of the log-magnitude features (a full-scale sine's peak bin is 0.5)


class _FixedConv1d(StreamableConv1d):
    """A `StreamableConv1d` whose weight is a buffer: its streaming state takes that buffer's device and dtype."""

    def _state_device_dtype(self) -> tuple[torch.device, torch.dtype]:
        return self.conv.weight.device, self.conv.weight.dtype


class STFTFeatures(nn.Module):
    """Audio (B, 1, T) -> (B, n_bins or 3 * n_bins, T / hop): log-magnitude [and phase as (cos, sin)].

    `log_floor` clamps the magnitudes before the log: bins below it (silence, a noise floor) all read the same, so
    low-level noise does not change the codes. The DFT is a `StreamableConv1d` (kernel n_fft, stride hop) whose
    weight is a fixed Hann-windowed cos / -sin basis scaled by 1 / sum(window), a buffer rebuilt from n_fft and hop
    rather than saved; so the front end pads, streams (causal) and exports like any other conv. With `phase` the
    real and imaginary parts divided by the magnitude are added as channels (they carry what the log-magnitude
    drops).
    """

    def __init__(
        self, n_fft: int, hop_length: int, phase: bool = False, causal: bool = False, log_floor: float = LOG_FLOOR
    ):
        super().__init__()
        self.log_floor = float(log_floor)
        self.n_bins = n_fft // 2 + 1
        self.phase = bool(phase)
        self.out_channels = (3 if self.phase else 1) * self.n_bins
        self.dft = _FixedConv1d(1, 2 * self.n_bins, n_fft, stride=hop_length, bias=False, causal=causal)
        window = torch.hann_window(n_fft, dtype=torch.float64)
        basis = rdft_basis(n_fft, n_fft, window / window.sum()).T  # (2 * n_bins, n_fft)
        conv = self.dft.conv
        del conv.weight  # a fixed transform, not a parameter
        conv.register_buffer("weight", basis.float()[:, None, :], persistent=False)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise ValueError(f"the vocos encoder takes mono audio (batch, 1, samples), got {tuple(audio.shape)}")
        real, imag = self.dft(audio).chunk(2, dim=1)
        power = real * real + imag * imag
        floor = self.log_floor**2
        log_mag = 0.5 * torch.log(power.clamp_min(floor))
        if not self.phase:
            return log_mag
        inv = torch.rsqrt(power.clamp_min(floor))  # below the floor the phase channels fade to 0
        return torch.cat([log_mag, real * inv, imag * inv], dim=1)


class PitchChannel(nn.Module):
    """Audio (B, 1, T) -> (B, 1, T / hop): YIN's F0 as log-F0 mapped to [0, 1] over [fmin, fmax], -1 unvoiced."""

    def __init__(self, sample_rate: int, hop_length: int, fmin: float, fmax: float):
        super().__init__()
        self.scale = PitchScale.checked(fmin, fmax, sample_rate, "vocos encoder")
        self.sample_rate, self.hop_length = sample_rate, hop_length

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        track = yin_pitch(audio, self.sample_rate, self.hop_length, self.scale.fmin, self.scale.fmax)
        u = self.scale.to_unit(track.f0)
        return torch.where(track.voiced, u, torch.full_like(u, UNVOICED))[:, None]


@ENCODERS.register("vocos")
class VocosEncoder(Streamable, nn.Module):
    """Audio (B, 1, T) -> latents (B, latent_dim, T / hop_length): STFT features, ConvNeXt, 1x1 conv.

    `n_fft`: STFT window (>= hop_length); `phase`: add the phase channels; `log_floor`:
    the features' magnitude floor (3e-4 hides a 40 dB noise floor from the codes); `intermediate_dim` defaults to
    3 * dim. The backbone's embedding conv is 1x1 (the STFT window already spans n_fft samples). `pitch`: append
    a pitch channel (YIN, `codeckit.nn.pitch`: normalised log-F0 in [0, 1] from `fmin` to `fmax`, -1 when
    unvoiced) for a `pitch_split` quantizer, so latents have latent_dim + 1 channels (non-causal only: YIN's
    window reaches past the hop; `sample_rate` is filled in by the codec).
    """

    def __init__(
        self,
        latent_dim: int,
        hop_length: int = 320,
        n_fft: int = 640,
        dim: int = 256,
        intermediate_dim: int | None = None,
        n_layers: int = 4,
        phase: bool = False,
        causal: bool = False,
        log_floor: float = LOG_FLOOR,
        pitch: bool = False,
        sample_rate: int | None = None,
        fmin: float = 50.0,
        fmax: float = 550.0,
    ):
        super().__init__()
        intermediate_dim = 3 * dim if intermediate_dim is None else intermediate_dim
        where = "vocos encoder"
        check_positive(where, latent_dim=latent_dim, hop_length=hop_length, n_fft=n_fft, dim=dim)
        if isinstance(log_floor, bool) or not isinstance(log_floor, (int, float)) or not 0 < log_floor < 1:
            raise ConfigError(f"{where}: log_floor must be a number in (0, 1), got {log_floor!r}")
        check_positive(where, intermediate_dim=intermediate_dim, n_layers=n_layers)
        check_bool(where, phase=phase, causal=causal, pitch=pitch)
        if n_fft < hop_length:
            raise ConfigError(f"{where}: n_fft must be >= hop_length ({hop_length}), got {n_fft}")
        if pitch and (causal or sample_rate is None):
            raise ConfigError(f"{where}: pitch needs causal false and the codec's sample_rate, got causal {causal}")
        self.hop_length = int(hop_length)
        self.dim = int(latent_dim) + int(pitch)
        self.pitch = PitchChannel(int(sample_rate), self.hop_length, fmin, fmax) if pitch else None
        self.features = STFTFeatures(n_fft, hop_length, phase, causal, log_floor)
        self.backbone = ConvNeXtBackbone(
            self.features.out_channels, dim, intermediate_dim, n_layers, causal=causal, embed_kernel_size=1
        )
        self.proj = nn.Conv1d(dim, latent_dim, 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        latents = self.proj(self.backbone(self.features(audio)))
        if self.pitch is None:
            return latents
        return torch.cat([latents, self.pitch(audio).to(latents.dtype)], dim=1)


@DECODERS.register("vocos")
class VocosDecoder(Streamable, nn.Module):
    """Latents (B, latent_dim, N) -> audio (B, 1, N * hop_length): ConvNeXt, [upsample], ISTFT head.

    `hop_length`: samples per latent frame (the codec hop); the ISTFT runs at hop_length / `upsample` with
    window `n_fft` (>= 2 * that hop); `intermediate_dim` defaults to 3 * dim. `head: harmonic` adds a pulse train
    at the F0 of the latents' last channel (`codeckit.nn.harmonic`; with a `pitch_split` quantizer and the
    encoder's `pitch: true`, the same `fmin` / `fmax`; non-causal, no upsampling; `sample_rate`: the codec's).
    """

    def __init__(
        self,
        latent_dim: int,
        hop_length: int = 320,
        n_fft: int = 1280,
        dim: int = 384,
        intermediate_dim: int | None = None,
        n_layers: int = 8,
        upsample: int = 1,
        causal: bool = False,
        head: str = "istft",
        sample_rate: int | None = None,
        fmin: float = 50.0,
        fmax: float = 550.0,
    ):
        super().__init__()
        intermediate_dim = 3 * dim if intermediate_dim is None else intermediate_dim
        where = "vocos decoder"
        check_choice(where, "head", head, HEADS)
        check_positive(where, latent_dim=latent_dim, hop_length=hop_length, n_fft=n_fft, dim=dim)
        check_positive(where, intermediate_dim=intermediate_dim, n_layers=n_layers, upsample=upsample)
        check_bool(where, causal=causal)
        if hop_length % upsample:
            raise ConfigError(f"{where}: hop_length {hop_length} must be a multiple of upsample, got {upsample}")
        istft_hop = hop_length // upsample
        if n_fft < 2 * istft_hop:
            raise ConfigError(
                f"{where}: n_fft must be >= 2 * hop_length / upsample ({2 * istft_hop}) for the Hann overlap-add, "
                f"got {n_fft}"
            )
        self.hop_length = int(hop_length)
        self.dim = int(latent_dim)
        self.backbone = ConvNeXtBackbone(latent_dim, dim, intermediate_dim, n_layers, causal=causal)
        self.upsample = (
            StreamableConvTranspose1d(dim, dim, 2 * upsample, stride=upsample, causal=causal)
            if upsample > 1
            else nn.Identity()
        )
        if head == "istft":
            self.head = ISTFTHead(dim, n_fft, istft_hop, causal)
            return
        if causal or upsample > 1 or sample_rate is None:
            raise ConfigError(
                f"{where}: head harmonic needs causal false, upsample 1 and the codec's sample_rate, got causal "
                f"{causal}, upsample {upsample}, sample_rate {sample_rate}"
            )
        self.head = HarmonicISTFTHead(dim, n_fft, istft_hop, sample_rate, fmin, fmax)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        features = self.upsample(self.backbone(latents))
        if isinstance(self.head, HarmonicISTFTHead):
            return self.head(features, latents[:, -1])
        return self.head(features)
