"""SyncLLM-style de-duplication: runs of repeated tokens (or frames) become one token plus a run length.

`restore` repeats each token by its count, so `restore(dedup(x)) == x` exactly. `max_run` caps run
lengths (longer runs are split), so counts fit a fixed set of duration tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from codeckit.tokens.check import as_batch
from codeckit.tokens.errors import TokenError


class Runs(NamedTuple):
    """De-duplicated tokens: `values` `(N,)` (or `(N, K)` for frames of K levels) and `counts` `(N,)` int64."""

    values: torch.Tensor
    counts: torch.Tensor


def dedup(seq: torch.Tensor, max_run: int | None = None) -> Runs:
    """`(T,)` tokens or `(T, K)` frames -> runs of equal consecutive entries, each at most `max_run` long."""
    if seq.dim() not in (1, 2):
        raise TokenError(f"dedup takes (tokens,) or (frames, levels), got {tuple(seq.shape)}")
    if max_run is not None and max_run < 1:
        raise TokenError(f"max_run must be >= 1, got {max_run}")
    if seq.shape[0] == 0:
        return Runs(seq.clone(), torch.zeros(0, dtype=torch.long, device=seq.device))
    values, counts = torch.unique_consecutive(seq, dim=0, return_counts=True)
    if max_run is not None and bool((counts > max_run).any()):
        pieces = (counts + max_run - 1) // max_run  # runs each long run splits into
        values = values.repeat_interleave(pieces, dim=0)
        full = torch.full((int(pieces.sum()),), max_run, dtype=torch.long, device=seq.device)
        last = torch.cumsum(pieces, 0) - 1
        full[last] = counts - (pieces - 1) * max_run
        counts = full
    return Runs(values, counts.long())


def restore(runs: Runs) -> torch.Tensor:
    """Inverse of `dedup`: repeat each value by its count."""
    values, counts = runs
    if counts.dim() != 1 or values.shape[0] != counts.shape[0]:
        raise TokenError(f"runs disagree: {values.shape[0]} values but counts of shape {tuple(counts.shape)}")
    if bool((counts < 1).any()):
        pos = int((counts < 1).nonzero()[0])
        raise TokenError(f"run {pos} has count {int(counts[pos])}; counts must be >= 1")
    return values.repeat_interleave(counts, dim=0)


def dedup_codes(
    codes: Sequence[torch.Tensor], lengths: Sequence[int] | None = None, max_run: int | None = None
) -> list[Runs]:
    """Codes per level `(B, T)` (equal frame rates) -> one `Runs` per item over its frames `(T, K)`.

    A frame repeats only when every level repeats. `lengths` are valid frames per item (default: all).
    """
    batch, _ = as_batch(codes)
    frames = [c.shape[1] for c in batch]
    if len(set(frames)) != 1:
        raise TokenError(f"dedup_codes needs levels with equal frame counts, got {frames}")
    grid = torch.stack(batch, dim=2)  # (B, T, K)
    lengths = [grid.shape[1]] * grid.shape[0] if lengths is None else [int(n) for n in lengths]
    if len(lengths) != grid.shape[0] or any(not 0 <= n <= grid.shape[1] for n in lengths):
        raise TokenError(f"lengths {lengths} must give 0..{grid.shape[1]} frames for each of {grid.shape[0]} items")
    return [dedup(grid[i, :n], max_run) for i, n in enumerate(lengths)]


def restore_codes(runs: Sequence[Runs], pad: int = 0) -> tuple[list[torch.Tensor], list[int]]:
    """Inverse of `dedup_codes`: codes per level `(B, max T)` padded with `pad`, and frames per item."""
    frames = [restore(r) for r in runs]
    if not frames or any(f.dim() != 2 for f in frames):
        raise TokenError("restore_codes needs a non-empty list of frame runs with values (N, levels)")
    lengths = [f.shape[0] for f in frames]
    k = frames[0].shape[1]
    out = frames[0].new_full((len(frames), max(lengths), k), pad)
    for i, f in enumerate(frames):
        out[i, : f.shape[0]] = f
    return [out[:, :, level] for level in range(k)], lengths
