"""Fixtures shared by the fuzz and fault suite (issue 19).

Every case asserts an outcome a user can rely on: the exit status, one line of error naming the problem
(never a Python traceback), no half-written output file, and nothing run from a file codeckit reads.
The CLI is called in-process (`codeckit.cli.main`, as the console script does; an exception escaping it
is what a user would see as a traceback) except where a process must die or be measured. Helpers are in
robustness_helpers.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from robustness_helpers import SR, make_model_dir, tone


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """One intra-op thread for every case (tests/conftest.py): small convs, a loaded machine."""


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """snac_tiny, random weights (24 kHz, 3 levels of 1024 codes, non-causal: overlap-save chunks)."""
    return make_model_dir(tmp_path_factory.mktemp("models") / "snac_tiny")


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    """snac_tiny with other weights: another codec identity."""
    return make_model_dir(tmp_path_factory.mktemp("models") / "snac_tiny_b", seed=1)


@pytest.fixture(scope="session")
def codec(model_dir):
    import codeckit

    return codeckit.load(model_dir)


@pytest.fixture(scope="session")
def wav(tmp_path_factory) -> Path:
    """A valid 0.2 s mono file at the model's rate."""
    p = tmp_path_factory.mktemp("audio") / "ok.wav"
    sf.write(p, tone(0.2), SR)
    return p
