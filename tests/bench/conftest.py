"""Speech files for the leaderboard tests: espeak-ng sentences in several voices, written at 16 kHz."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codeckit.audio import read_audio, write_audio

SENTENCES = [
    ("en-us", "Please call Stella."),
    ("en+f3", "Six spoons of fresh snow peas."),
]


def make_speech(folder: Path, n: int) -> Path:
    """`n` espeak-ng utterances (different voices) as 16 kHz wav files in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (voice, text) in enumerate(SENTENCES[:n]):
        raw = folder / f".raw{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True)
        audio, sr = read_audio(raw, 16000)
        write_audio(folder / f"utt{i}.wav", audio, sr)
        raw.unlink()
    return folder


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    return make_speech(tmp_path_factory.mktemp("speech"), 2)
