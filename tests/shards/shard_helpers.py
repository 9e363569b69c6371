"""Helpers of the corpus-shard tests: a tiny corpus writer, subprocess command lines, a folder's files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


def write_corpus(root: Path, n: int = 8, bad: bool = True, seed: int = 0) -> Path:
    """`n` utterances of 0.15-0.5 s (every third at 22.05 kHz, the rest 16 kHz) and, with `bad`, a corrupt
    file as the third entry; returns the wav.scp."""
    rng = np.random.default_rng(seed)
    (root / "wav").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        sr = 22050 if i % 3 == 2 else 16000
        t = np.arange(int(sr * rng.uniform(0.15, 0.5))) / sr
        x = 0.4 * np.sin(2 * np.pi * (140 + 25 * i) * t) + 0.05 * rng.standard_normal(t.shape)
        sf.write(root / "wav" / f"utt{i:02d}.wav", x.astype(np.float32), sr)
        lines.append(f"utt{i:02d} {root / 'wav' / f'utt{i:02d}.wav'}")
    if bad:
        (root / "wav" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wave file at all")
        lines.insert(2, f"broken {root / 'wav' / 'broken.wav'}")
    (root / "wav.scp").write_text("\n".join(lines) + "\n")
    return root / "wav.scp"


def codeckit_cmd(*args: str) -> list[str]:
    """The command line running `codeckit ARGS` with this checkout's Python."""
    return [sys.executable, "-m", "codeckit", *args]


def run_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses: one thread each, this checkout first on the path."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}
    env.pop("WORLD_SIZE", None)
    env.pop("RANK", None)
    return env


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=run_env(**env), capture_output=True, text=True, timeout=timeout)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes), temporary folders aside."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".tmp" not in p.relative_to(folder).parts
    }
