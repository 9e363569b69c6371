"""TensorBoard helpers: scalars, audio samples and mel-spectrogram images of real vs. decoded audio."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from codeckit.losses.mel import MelSpectrogram


class TBLogger:
    """A SummaryWriter under EXP_DIR/tb (rank 0 only) with audio and mel-image helpers."""

    def __init__(self, directory: str | Path, sample_rate: int):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(directory))
        self.sample_rate = sample_rate
        n_fft = 2 ** max(8, round(math.log2(sample_rate * 0.046)))  # ~46 ms windows
        self.mel = MelSpectrogram(sample_rate, n_fft, n_fft // 4, n_mels=80)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)

    @torch.no_grad()
    def samples(self, real: torch.Tensor, fake: torch.Tensor, step: int) -> None:
        """Log the first item's real and decoded audio `(C, T)` and a mel image with real above decoded."""
        real, fake = real[:1].detach().float().cpu(), fake[:1].detach().float().cpu()
        self.writer.add_audio("audio/real", real[0, 0].clamp(-1, 1), step, sample_rate=self.sample_rate)
        self.writer.add_audio("audio/decoded", fake[0, 0].clamp(-1, 1), step, sample_rate=self.sample_rate)
        mels = [torch.log10(self.mel(x)[0, 0].clamp(min=1e-5)).numpy() for x in (real, fake)]
        self.writer.add_image(
            "mel/real_over_decoded", mel_image(np.concatenate(mels[::-1], 0)), step, dataformats="HWC"
        )

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def mel_image(log_mel: np.ndarray) -> np.ndarray:
    """A log-mel array `(n_mels, frames)` as an RGB uint8 image, low frequencies at the bottom."""
    from matplotlib import colormaps

    lo, hi = float(log_mel.min()), float(log_mel.max())
    norm = (log_mel - lo) / max(hi - lo, 1e-8)
    rgb = colormaps["magma"](norm[::-1])[..., :3]
    return (rgb * 255).astype(np.uint8)
