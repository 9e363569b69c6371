"""Converters from released checkpoints (SNAC, EnCodec, DAC, Mimi) into codeckit model directories."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

# format -> (module, function); each is `convert(src, dst, origin=None) -> Path`, imported on first use
CONVERTERS: dict[str, tuple[str, str]] = {
    "snac": ("codeckit.convert.snac", "convert_snac"),
    "encodec": ("codeckit.convert.encodec", "convert_encodec"),
    "dac": ("codeckit.convert.dac", "convert_dac"),
    "mimi": ("codeckit.convert.mimi", "convert_mimi"),
}


def converter(fmt: str) -> Callable[..., Path]:
    """The converter of format `fmt` (a key of CONVERTERS), imported only now: each pulls in its own parts."""
    module, name = CONVERTERS[fmt]
    return getattr(importlib.import_module(module), name)
