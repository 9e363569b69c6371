"""Log-mel filterbank features, registered as encoder `logmel`: a frame-rate input for k-means or a vocoder.

Hann window, no pre-emphasis, Kaldi's mel scale, natural log floored at `log_floor`; frames centred on each hop
(`codeckit.features.dsp.FramePower`), T samples -> T / hop frames. Fixed ops only: exports to ONNX as it is.
"""

from __future__ import annotations

import torch
from torch import nn

from codeckit.errors import ConfigError
from codeckit.features.dsp import FramePower, mel_banks
from codeckit.features.mfcc import check_mono
from codeckit.nn.checks import check_positive
from codeckit.registry import ENCODERS


@ENCODERS.register("logmel")
class LogMel(nn.Module):
    """Audio (B, 1, T) -> log-mel energies (B, n_mels, T / hop_length); no parameters."""

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 160,
        win_length: int = 400,
        n_fft: int = 512,
        n_mels: int = 80,
        low_hz: float = 0.0,
        high_hz: float = 0.0,
        log_floor: float = 1e-5,
    ):
        super().__init__()
        check_positive("logmel encoder", sample_rate=sample_rate, n_mels=n_mels)
        if not 0.0 < float(log_floor) < 1.0:
            raise ConfigError(f"logmel encoder: log_floor must be in (0, 1), got {log_floor!r}")
        self.power = FramePower(win_length, hop_length, n_fft, "hann", preemphasis=0.0, remove_dc=False)
        self.hop_length = int(hop_length)
        self.log_floor = float(log_floor)
        self.register_buffer("mel", mel_banks(n_mels, n_fft, sample_rate, low_hz, high_hz).float(), persistent=False)
        self.dim = int(n_mels)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        check_mono(audio, "logmel")
        return torch.log(torch.matmul(self.mel, self.power(audio)).clamp_min(self.log_floor))
