"""Generated audio for the training tests: short tones-plus-noise wav files and their wav.scp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codeckit.configs import model_config


def write_corpus(directory: Path, n: int, sample_rates=(16000,), seconds: float = 0.5, seed: int = 0) -> Path:
    """`n` wav files of harmonic tones with a slow envelope and light noise; returns the wav.scp."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        sr = sample_rates[i % len(sample_rates)]
        t = np.arange(int(sr * seconds)) / sr
        f0 = rng.uniform(120, 400)
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in (1, 2, 3))
        x = 0.25 * x * (0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(1, 4) * t)) + 0.01 * rng.standard_normal(len(t))
        path = directory / f"utt{i:03d}.wav"
        sf.write(path, x.astype(np.float32), sr)
        lines.append(f"utt{i:03d} {path}")
    scp = directory / "wav.scp"
    scp.write_text("\n".join(lines) + "\n")
    return scp


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """16 generated files at 16 kHz and 22.05 kHz (so the loader resamples); returns the wav.scp."""
    return write_corpus(tmp_path_factory.mktemp("corpus"), 16, sample_rates=(16000, 22050))


def make_tiny_config(scp, **train) -> dict:
    """dac_tiny with small discriminators, 0.1 s crops, every step logged."""
    return {
        "model": model_config("dac_tiny")["model"],
        "data": {"train": str(scp), "segment_seconds": 0.1, "batch_size": 4, "num_workers": 0},
        "train": {
            "max_steps": 30,
            "lr": 2e-3,
            "betas": [0.8, 0.99],
            "lr_decay": "constant",
            "disc_start_step": 20,
            "log_every": 1,
            "checkpoint_every": 10,
            "keep_checkpoints": 2,
            "sample_every": 15,
            "progress": False,
            **train,
        },
        "losses": {
            "reconstruction": [
                {"name": "mel", "weight": 1.0, "n_mels": [10, 20, 40], "window_lengths": [64, 128, 256]},
                {"name": "l1", "weight": 1.0},
            ],
            "adversarial": "lsgan",
            "adversarial_weight": 0.1,
            "feature_matching_weight": 0.2,
            "quantizer_weights": {"commitment": 0.25, "codebook": 1.0},
        },
        "discriminators": [
            {"name": "mpd", "periods": [2, 3], "base_channels": 2, "max_channels": 8},
            {"name": "mrd", "n_ffts": [128], "base_channels": 2},
        ],
    }


@pytest.fixture
def tiny_config():
    """The factory `make_tiny_config(scp, **train_overrides)`."""
    return make_tiny_config
