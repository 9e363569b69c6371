"""Helpers of the fuzz and fault suite (issue 19): run the CLI and check outcomes; see conftest.py."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, settings

from codeckit.codecs import build_codec, save_codec
from codeckit.configs import model_config

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SR = 24000  # snac_tiny's rate

# The smallest causal codec with step graphs: a 2-level SEANet at 8 kHz, hop 4 (ONNX runner cases).
CAUSAL_MINI = {
    "sample_rate": 8000,
    "encoder": {"name": "seanet", "dimension": 8, "n_filters": 2, "ratios": [2, 2], "lstm": 0, "causal": True},
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 8, "codebook_size": 16}},
    "decoder": {"name": "seanet", "dimension": 8, "n_filters": 2, "ratios": [2, 2], "lstm": 0, "causal": True},
}


def fuzz(examples: int) -> settings:
    """Hypothesis settings of the suite: a few examples, the same ones every run, no deadline, no database."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def make_model_dir(path: Path, name: str = "snac_tiny", seed: int = 0, config: dict | None = None) -> Path:
    torch.manual_seed(seed)
    cfg = copy.deepcopy(config if config is not None else model_config(name)["model"])
    return save_codec(build_codec(cfg), path)


def tone(seconds: float, sr: int = SR, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# -- outcomes ---------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    rc: int | str  # exit status, or "traceback" when an exception escaped
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if "error" in line.lower()]


def cli(capsys, *argv) -> Outcome:
    """Run `codeckit ARGV` in this process; an exception escaping `main` becomes rc "traceback"."""
    from codeckit.cli import main

    capsys.readouterr()
    try:
        rc: int | str = main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        rc = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - what a user would see as a traceback
        rc = "traceback"
        captured = capsys.readouterr()
        return Outcome(rc, captured.out, captured.err + traceback.format_exc())
    captured = capsys.readouterr()
    return Outcome(rc, captured.out, captured.err)


def assert_clean_error(o: Outcome, *words: str, rc: int = 2) -> str:
    """Exit status `rc`, no traceback, and one `codeckit ...: error:` line that holds every word of `words`."""
    assert o.rc == rc, f"exit {o.rc!r}, expected {rc}; stderr:\n{o.err[-3000:]}"
    assert "Traceback" not in o.err, o.err[-3000:]
    lines = [line for line in o.err.splitlines() if line.startswith("codeckit")]
    errors = [line for line in lines if ": error:" in line]
    assert len(errors) == 1, f"expected one error line, got {errors}; stderr:\n{o.err[-3000:]}"
    for w in words:
        assert w.lower() in errors[0].lower(), f"{w!r} not in {errors[0]!r}"
    return errors[0]


def assert_process_error(proc: subprocess.CompletedProcess, command: str, *words: str) -> str:
    """`assert_clean_error` for a spawned `codeckit COMMAND`: its one error line is `codeckit COMMAND: error: ...`
    and holds `words` as written."""
    line = assert_clean_error(Outcome(proc.returncode, proc.stdout, proc.stderr), *words)
    assert line.startswith(f"codeckit {command}: error:") and all(w in line for w in words), line
    return line


def assert_no_partial_files(root: Path) -> None:
    """No temporary file of an atomic write left under `root` (`.name.XXXX.tmp.ext`)."""
    if root.exists():
        left = [p for p in root.rglob("*") if ".tmp" in p.name]
        assert not left, left


def run_python(code: str, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -c CODE ARGS...` with one thread, from this folder (no `codeckit` folder on its sys.path)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, cwd=HERE, env=full_env
    )


def run_script(path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python PATH ARGS...` (a driver script: spawned workers re-run its top level, so patches reach them)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, timeout=timeout, cwd=HERE, env=env
    )
