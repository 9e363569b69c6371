"""Generated audio for the training tests: short tones-plus-noise wav files and their wav.scp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


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
