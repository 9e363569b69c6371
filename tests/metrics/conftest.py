"""Shared test signal: a short espeak-ng sentence at 16 kHz (real speech for PESQ/STOI/ViSQOL)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from codeckit.audio import read_audio


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> np.ndarray:
    """About 1.5 s of synthetic speech, mono float64 at 16 kHz."""
    path = tmp_path_factory.mktemp("speech") / "s.wav"
    subprocess.run(["espeak-ng", "-w", str(path), "Six spoons of fresh snow peas."], check=True)
    x, sr = read_audio(path, 16000)
    assert sr == 16000
    return x[0].numpy().astype(np.float64)
