"""MFCC with deltas, registered as encoder `mfcc`: HuBERT's first-iteration targets, no pretrained weights.

Kaldi's `compute-mfcc-feats` defaults as fairseq's `dump_mfcc_feature.py` calls them through torchaudio (25 ms
povey window, 10 ms hop, pre-emphasis 0.97, DC removal, 23 mel bins from 20 Hz, 13 cepstra, lifter 22, no energy,
no dither), then deltas and delta-deltas: 39 channels at 100 Hz for 16 kHz audio. Frames are centred on each hop
(`codeckit.features.dsp.FramePower`) so T samples give T / hop frames as every codeckit encoder does, where Kaldi
would snip the edges. All fixed ops (conv DFT, matmuls, log, grouped conv): it exports to ONNX as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.features.dsp import Deltas, FramePower, dct_matrix, lifter, mel_banks
from codeckit.nn.checks import check_non_negative, check_positive
from codeckit.registry import ENCODERS

FLOOR = 1.1920928955078125e-07  # Kaldi's log floor (float epsilon)


def check_mono(audio: torch.Tensor, name: str) -> None:
    """Raise ValueError unless `audio` is (batch, 1, samples)."""
    if audio.dim() != 3 or audio.shape[1] != 1:
        raise ValueError(f"the {name} encoder takes mono audio (batch, 1, samples), got {tuple(audio.shape)}")


@ENCODERS.register("mfcc")
class MFCC(nn.Module):
    """Audio (B, 1, T) -> MFCC [+ deltas] (B, n_ceps * (deltas + 1), T / hop_length); no parameters."""

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 160,
        win_length: int = 400,
        n_fft: int = 512,
        n_mels: int = 23,
        n_ceps: int = 13,
        deltas: int = 2,
        low_hz: float = 20.0,
        high_hz: float = 0.0,
        preemphasis: float = 0.97,
        cepstral_lifter: float = 22.0,
        window: str = "povey",
    ):
        super().__init__()
        check_positive("mfcc encoder", sample_rate=sample_rate, n_mels=n_mels, n_ceps=n_ceps)
        check_non_negative("mfcc encoder", deltas=deltas)
        if n_ceps > n_mels:
            raise ConfigError(f"mfcc encoder: n_ceps ({n_ceps}) cannot exceed n_mels ({n_mels})")
        self.power = FramePower(win_length, hop_length, n_fft, window, preemphasis, remove_dc=True)
        self.hop_length = int(hop_length)
        self.register_buffer("mel", mel_banks(n_mels, n_fft, sample_rate, low_hz, high_hz).float(), persistent=False)
        dct = dct_matrix(n_ceps, n_mels) * lifter(n_ceps, cepstral_lifter)[:, None]
        self.register_buffer("dct", dct.float(), persistent=False)
        self.deltas = Deltas(n_ceps, deltas)
        self.dim = n_ceps * (deltas + 1)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        check_mono(audio, "mfcc")
        logmel = torch.log(torch.matmul(self.mel, self.power(audio)).clamp_min(FLOOR))
        return self.deltas(torch.matmul(self.dct, logmel))
