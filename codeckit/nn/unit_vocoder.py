"""The unit vocoder, registered as decoder `unit_hifigan`: discrete speech units -> audio, as GSLM / SpeechGPT's
unit HiFi-GAN does, inside a codec whose encoder (MFCC / SSL features) and k-means quantizer are frozen.

Input: latents (B, D, N) at the unit frame rate, the k-means centres of the units (`quantizer.decode`), so the
first conv over them is the unit embedding (a learned table would be the same map from unit id to vector, but
one tied to the codebook size; centres keep the vocoder usable for any k over the same features).
Output: audio (B, 1, N * hop_length).

Two generators, chosen by `generator`:
- `istft` (default): Vocos's ConvNeXt backbone at the unit rate and an inverse-STFT head (`codeckit.nn.vocos`),
  all the work at 100 Hz instead of 16 kHz. Chosen as the default by measurement: in the same 150 s of training
  on this project's 2 shared CPU cores (benches/unit_vocoder_speed.py, MFCC k-means units, batch 16 x 1 s) it
  took 58 steps (2.7 s/step) against conv upsampling's 8 (21 s/step) and reached a dev mel loss of 0.51 against
  0.74 (silence: 2.10); a recipe with a 10-15 minute training budget needs that speed.
- `hifigan`: the literal HiFi-GAN V1 generator: conv_pre (k7), per rate r a LeakyReLU and a transposed conv
  (kernel 2r, stride r, channels halved) followed by the multi-receptive-field fusion (the mean of ResBlock1s
  with kernels `resblock_kernels`, dilations `resblock_dilations`), LeakyReLU, conv_post (k7), tanh.
  The rates' product must be `hop_length`. For GPU budgets, or to reproduce a published unit HiFi-GAN's layout.

Speaker: with `n_speakers` > 0 a learned table of `speaker_dim`-dim vectors is concatenated to the input as
constant channels. `forward(latents, speaker=...)` takes speaker ids (B,) int64, or (B, speaker_dim) float
vectors in their place (global conditioning from any speaker encoder, projected to speaker_dim by its user);
without `speaker` every item gets `default_speaker`. `codeckit train` calls decoders with latents alone, so
there it trains the default speaker's row only; a per-utterance id reaches the decoder through this keyword.

Causal (`causal: true`): every conv is causal (`StreamableConv1d` / `StreamableConvTranspose1d`), the ISTFT is
trimmed on the right, so decoding streams chunk by chunk with explicit per-layer state and equals one offline
pass; the speaker channels are constant in time and need no state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import CodeckitError, ConfigError
from codeckit.nn.checks import check_bool, check_choice, check_non_negative, check_positive, check_positive_list
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.convnext import ChannelLayerNorm, ConvNeXtBackbone
from codeckit.nn.istft import ISTFTHead
from codeckit.nn.streaming import Streamable
from codeckit.registry import DECODERS

GENERATORS = ("istft", "hifigan")
LRELU_SLOPE = 0.1  # HiFi-GAN's


class UnitVocoderError(CodeckitError, ValueError):
    """Latents or a speaker that do not fit the vocoder (names the expected and the given shape)."""


class SpeakerInput(nn.Module):
    """Latents (B, D, N) -> (B, D + speaker_dim, N): a speaker vector per item appended as constant channels."""

    def __init__(self, n_speakers: int, speaker_dim: int, default_speaker: int = 0):
        super().__init__()
        check_positive("unit_hifigan", n_speakers=n_speakers, speaker_dim=speaker_dim)
        if not 0 <= default_speaker < n_speakers:
            raise ConfigError(f"unit_hifigan: default_speaker must be in 0..{n_speakers - 1}, got {default_speaker}")
        self.n_speakers, self.speaker_dim, self.default_speaker = n_speakers, speaker_dim, default_speaker
        self.table = nn.Embedding(n_speakers, speaker_dim)
        nn.init.normal_(self.table.weight, std=0.1)

    def vectors(self, speaker: torch.Tensor | None, batch: int) -> torch.Tensor:
        """(B, speaker_dim) vectors from ids (B,), from vectors (B, speaker_dim), or the default speaker's."""
        if speaker is None:
            return self.table.weight[self.default_speaker].expand(batch, -1)
        if speaker.dtype in (torch.int32, torch.int64) and speaker.shape == (batch,):
            if int(speaker.min()) < 0 or int(speaker.max()) >= self.n_speakers:
                raise UnitVocoderError(f"unit_hifigan: speaker ids must be in 0..{self.n_speakers - 1}, got {speaker}")
            return self.table(speaker)
        if speaker.is_floating_point() and speaker.shape == (batch, self.speaker_dim):
            return speaker.to(self.table.weight.dtype)
        raise UnitVocoderError(
            f"unit_hifigan: speaker must be ids ({batch},) int64 or vectors ({batch}, {self.speaker_dim}) float, "
            f"got {speaker.dtype} {tuple(speaker.shape)}"
        )

    def forward(self, latents: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        vec = self.vectors(speaker, latents.shape[0]).to(latents.dtype)
        return torch.cat([latents, vec[:, :, None].expand(-1, -1, latents.shape[-1])], dim=1)


class ResBlock1(nn.Module):
    """HiFi-GAN's ResBlock1: per dilation d, x + conv_k,1(lrelu(conv_k,d(lrelu(x)))); length-preserving."""

    def __init__(self, dim: int, kernel_size: int, dilations: Sequence[int], causal: bool):
        super().__init__()

        def conv(dilation: int) -> StreamableConv1d:
            return StreamableConv1d(dim, dim, kernel_size, dilation=dilation, causal=causal, norm="weight_norm")

        self.convs1 = nn.ModuleList(conv(d) for d in dilations)
        self.convs2 = nn.ModuleList(conv(1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class HiFiGANStack(nn.Module):
    """Features (B, dim, N) -> audio (B, 1, N * prod(rates)): HiFi-GAN V1's upsampling and MRF stages."""

    def __init__(
        self,
        dim: int,
        rates: Sequence[int],
        resblock_kernels: Sequence[int],
        resblock_dilations: Sequence[int],
        causal: bool,
    ):
        super().__init__()
        where = "unit_hifigan"
        check_positive_list(where, "upsample_rates", rates)
        check_positive_list(where, "resblock_kernels", resblock_kernels)
        check_positive_list(where, "resblock_dilations", resblock_dilations)
        if dim >> len(rates) < 1:
            raise ConfigError(f"{where}: dim {dim} is too small to halve {len(rates)} times")
        self.ups, self.mrfs = nn.ModuleList(), nn.ModuleList()
        ch = dim
        for r in rates:
            up = StreamableConvTranspose1d(ch, ch // 2, 2 * r, stride=r, causal=causal, norm="weight_norm")
            self.ups.append(up)
            ch //= 2
            self.mrfs.append(nn.ModuleList(ResBlock1(ch, k, resblock_dilations, causal) for k in resblock_kernels))
        self.post = StreamableConv1d(ch, 1, 7, causal=causal, norm="weight_norm")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up, mrf in zip(self.ups, self.mrfs):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = sum(block(x) for block in mrf) / len(mrf)
        return torch.tanh(self.post(F.leaky_relu(x)))


@DECODERS.register("unit_hifigan")
class UnitVocoder(Streamable, nn.Module):
    """Unit centres (B, latent_dim, N) -> audio (B, 1, N * hop_length) (see the module docstring).

    `istft` generator: ConvNeXt `dim` / `intermediate_dim` (3 * dim by default) x `n_layers`, ISTFT window
    `n_fft` (4 * hop_length by default). `hifigan` generator: conv_pre to `dim` channels, `upsample_rates`
    (product = hop_length), MRF `resblock_kernels` x `resblock_dilations`.
    """

    def __init__(
        self,
        latent_dim: int,
        hop_length: int = 160,
        generator: str = "istft",
        dim: int = 256,
        intermediate_dim: int | None = None,
        n_layers: int = 4,
        n_fft: int | None = None,
        upsample_rates: Sequence[int] = (5, 4, 4, 2),
        resblock_kernels: Sequence[int] = (3, 7, 11),
        resblock_dilations: Sequence[int] = (1, 3, 5),
        n_speakers: int = 0,
        speaker_dim: int = 64,
        default_speaker: int = 0,
        causal: bool = False,
    ):
        super().__init__()
        where = "unit_hifigan"
        check_positive(where, latent_dim=latent_dim, hop_length=hop_length, dim=dim, n_layers=n_layers)
        check_non_negative(where, n_speakers=n_speakers)
        check_choice(where, "generator", generator, GENERATORS)
        check_bool(where, causal=causal)
        self.hop_length, self.dim, self.generator = int(hop_length), int(latent_dim), generator
        self.speaker = SpeakerInput(n_speakers, speaker_dim, default_speaker) if n_speakers else None
        in_dim = latent_dim + (speaker_dim if n_speakers else 0)
        if generator == "istft":
            self.body, self.head = self._istft_parts(in_dim, dim, intermediate_dim, n_layers, n_fft, causal)
        else:
            self.body, self.head = self._hifigan_parts(
                in_dim, dim, upsample_rates, resblock_kernels, resblock_dilations, causal
            )

    def _istft_parts(
        self, in_dim: int, dim: int, intermediate_dim: int | None, n_layers: int, n_fft: int | None, causal: bool
    ) -> tuple[nn.Module, nn.Module]:
        """ConvNeXt backbone and ISTFT head at hop `hop_length`."""
        intermediate_dim = 3 * dim if intermediate_dim is None else intermediate_dim
        n_fft = 4 * self.hop_length if n_fft is None else n_fft
        check_positive("unit_hifigan", intermediate_dim=intermediate_dim, n_fft=n_fft)
        if n_fft < 2 * self.hop_length:
            raise ConfigError(f"unit_hifigan: n_fft must be >= 2 * hop_length ({2 * self.hop_length}), got {n_fft}")
        body = ConvNeXtBackbone(in_dim, dim, intermediate_dim, n_layers, causal=causal)
        return body, ISTFTHead(dim, n_fft, self.hop_length, causal)

    def _hifigan_parts(
        self,
        in_dim: int,
        dim: int,
        rates: Sequence[int],
        kernels: Sequence[int],
        dilations: Sequence[int],
        causal: bool,
    ) -> tuple[nn.Module, nn.Module]:
        """conv_pre (k7) with a LayerNorm (the centres' scale varies by feature), then the HiFi-GAN stack."""
        rates = [int(r) for r in rates]
        if not rates or math.prod(rates) != self.hop_length:
            raise ConfigError(f"unit_hifigan: upsample_rates {rates} must multiply to hop_length {self.hop_length}")
        body = nn.Sequential(
            StreamableConv1d(in_dim, dim, 7, causal=causal, norm="weight_norm"), ChannelLayerNorm(dim, eps=1e-6)
        )
        return body, HiFiGANStack(dim, rates, kernels, dilations, causal)

    def forward(self, latents: torch.Tensor, speaker: torch.Tensor | None = None) -> torch.Tensor:
        if latents.dim() != 3 or latents.shape[1] != self.dim:
            raise UnitVocoderError(
                f"unit_hifigan: latents must be (batch, {self.dim}, frames), got {tuple(latents.shape)}"
            )
        if self.speaker is not None:
            latents = self.speaker(latents, speaker)
        elif speaker is not None:
            raise UnitVocoderError("unit_hifigan: a speaker was given but the vocoder has n_speakers 0")
        return self.head(self.body(latents))
