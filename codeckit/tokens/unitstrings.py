"""Units as the text strings a speech LM reads: one token string per unit, between optional markers.

`UnitStrings.encode(units)` takes frame-rate units (one level, as `codec.tokenize` gives them), de-duplicates them
when the consuming LM was trained on de-duplicated units, and writes the LM's strings; `decode(text)` reads
them back (markers and surrounding text skipped), so `decode(encode(u))` is `u`, or its de-duplicated units.
`UnitSetup` records what produced the units in the published setup (extractor, layer, count, rate) and gives the
matching `ssl` encoder config (`codeckit.features.ssl`) for a model the caller names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from codeckit.tokens.dedup import dedup
from codeckit.tokens.errors import TokenError


@dataclass(frozen=True)
class UnitSetup:
    """A published unit extraction: checkpoint, transformers layer index, k-means size and file, frame rate."""

    checkpoint: str  # the published SSL checkpoint the LM's units come from
    model_type: str  # its transformers model type
    layer: int  # transformers hidden_states index (fairseq output_layer)
    n_units: int
    kmeans: str  # the published k-means file
    frame_rate: float  # units per second before de-duplication
    dedup: bool  # whether the LM reads de-duplicated units
    normalize: bool  # whether the waveform is standardised before the model

    def encoder_config(self, model: str) -> dict[str, Any]:
        """The `ssl` encoder config reproducing this setup's features from `model` (`hf:ORG/NAME` or a folder)."""
        return {"name": "ssl", "model": model, "layer": self.layer, "normalize": self.normalize}


def as_units(units: object) -> torch.Tensor:
    """Units `(T,)` or `(1, T)` (tensor, array or list of ints) as an int64 `(T,)` tensor."""
    t = units if isinstance(units, torch.Tensor) else torch.as_tensor(np.asarray(units))
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 1 or (t.numel() and (t.dtype.is_floating_point or t.dtype == torch.bool)):
        raise TokenError(f"units must be integers of shape (frames,) or (1, frames), got {t.dtype} {tuple(t.shape)}")
    return t.long()


class UnitStrings:
    """`prefix` + one `template.format(unit)` per unit + `suffix`; `template` holds one `{}`."""

    def __init__(self, name: str, setup: UnitSetup, template: str, prefix: str = "", suffix: str = ""):
        if template.count("{}") != 1:
            raise TokenError(f"{name}: the unit template must hold one {{}}, got {template!r}")
        self.name, self.setup = name, setup
        self.template, self.prefix, self.suffix = template, prefix, suffix
        head, tail = (re.escape(part) for part in template.split("{}"))
        self.pattern = re.compile(f"{head}(\\d+){tail}")

    @property
    def n_units(self) -> int:
        return self.setup.n_units

    def encode(self, units: object) -> str:
        """Frame-rate units -> the LM's string (de-duplicated first when the setup is)."""
        u = as_units(units)
        if u.numel() and (int(u.min()) < 0 or int(u.max()) >= self.n_units):
            raise TokenError(
                f"{self.name}: units must lie in 0..{self.n_units - 1}, got {int(u.min())}..{int(u.max())}"
            )
        if self.setup.dedup:
            u = dedup(u).values
        return self.prefix + "".join(self.template.format(int(v)) for v in u.tolist()) + self.suffix

    def decode(self, text: str) -> torch.Tensor:
        """The units of every unit token in `text`, in order, as an int64 `(N,)` tensor."""
        if not isinstance(text, str):
            raise TokenError(f"{self.name}: decode takes a string, got {type(text).__name__}")
        units = [int(m) for m in self.pattern.findall(text)]
        bad = [v for v in units if v >= self.n_units]
        if bad:
            raise TokenError(f"{self.name}: unit {bad[0]} in the text is outside 0..{self.n_units - 1}")
        return torch.tensor(units, dtype=torch.long)

    def __repr__(self) -> str:
        return f"UnitStrings({self.name!r}, {self.template!r}, dedup={self.setup.dedup})"
