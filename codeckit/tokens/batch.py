"""A batch of tokenized items (what `tokenize` returns): padded codes per level, each item's length and frames."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Tokens:
    """What `tokenize` returns for a batch of B items (one item for a single input).

    `codes[l]` is an int64 `(B, max frames_l)` tensor for level l (coarse to fine), on the CPU, zero past
    each item's own frames: the codec contract, ready for `detokenize`. `lengths[i]` is item i's length in
    samples at `sample_rate` and `frames[i][l]` its frame count at level l. `tokens[i]` gives item i's codes
    as 1-D tensors trimmed to its frames.
    """

    codes: list[torch.Tensor]
    lengths: list[int]
    frames: list[list[int]]
    sample_rate: int
    n_quantizers: int
    sources: list[str | None] = field(default_factory=list)
    source_sample_rates: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> list[torch.Tensor]:
        """Item i's codes: one 1-D tensor per level, trimmed to its frames."""
        return [c[i, : self.frames[i][level]] for level, c in enumerate(self.codes)]
