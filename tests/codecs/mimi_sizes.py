"""Mimi configs of the released layout at toy sizes, shared by the Mimi tests (with and without moshi)."""

from __future__ import annotations

import copy
from typing import Any

from codeckit.convert.mimi import MIMI_CONFIG


def toy_mimi_config(width: int, n_q: int, bins: int, **transformer: Any) -> dict:
    """moshi's Mimi config with hop 80 (150 Hz codes at 24 kHz), SEANet and projections `width` wide, `n_q`
    codebooks of `bins` in `width // 2` dimensions, and the transformer keys given (d_model, num_heads, ...)."""
    cfg = copy.deepcopy(MIMI_CONFIG)
    cfg["frame_rate"] = 150.0
    cfg["seanet"].update(dimension=width, n_filters=4, ratios=[5, 4, 4])
    cfg["quantizer"].update(dimension=width // 2, n_q=n_q, bins=bins, input_dimension=width, output_dimension=width)
    cfg["transformer"].update(**transformer, input_dimension=width, output_dimensions=[width])
    return cfg
