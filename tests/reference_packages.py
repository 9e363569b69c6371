"""Importing the reference packages of the parity tests, which name torchaudio at import time only."""

from __future__ import annotations

import sys
import types

import pytest


def import_reference(name: str) -> types.ModuleType:
    """`import name` (skipping the test if it is not installed), with an empty `torchaudio` module standing in
    during the import only: torchaudio cannot load with this torch, and the models compared never call it."""
    stand_in = "torchaudio" not in sys.modules
    if stand_in:
        sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        return pytest.importorskip(name)
    finally:
        if stand_in:
            del sys.modules["torchaudio"]
