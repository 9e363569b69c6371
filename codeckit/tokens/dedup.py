"""SyncLLM-style de-duplication: runs of repeated tokens (or frames) become one token plus a run length.

`restore` repeats each token by its count, so `restore(dedup(x)) == x` exactly. `max_run` caps run
lengths (longer runs are split), so counts fit a fixed set of duration tokens. `dedup_units` / `restore_units` do
the same for a padded batch of one level of units (SpeechGPT's `merge_duplicates`: units and their durations).
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


class UnitRuns(NamedTuple):
    """A batch of de-duplicated unit sequences, padded: `units` and `durations` `(B, N)` int64 (0 past each item's
    runs), and `n_runs` `(B,)`, the runs of each item. What a unit vocoder with a duration predictor trains on."""

    units: torch.Tensor
    durations: torch.Tensor
    n_runs: torch.Tensor


def dedup_units(units: torch.Tensor, lengths: Sequence[int] | None = None, max_run: int | None = None) -> UnitRuns:
    """Run-length encoding of one level of units `(B, T)` (or `(T,)`): each run's unit and its duration in frames.

    `lengths` are the valid frames per item (default all); `max_run` splits longer runs (see `dedup`)."""
    batch = units[None] if units.dim() == 1 else units
    if batch.dim() != 2 or batch.dtype != torch.long:
        raise TokenError(
            f"dedup_units takes int64 units (batch, frames) or (frames,), got {units.dtype} {tuple(units.shape)}"
        )
    runs = dedup_codes([batch], lengths, max_run)
    n = max((r.counts.shape[0] for r in runs), default=0)
    out_units = batch.new_zeros(batch.shape[0], n)
    out_durations = batch.new_zeros(batch.shape[0], n)
    for i, r in enumerate(runs):
        out_units[i, : r.counts.shape[0]] = r.values[:, 0]
        out_durations[i, : r.counts.shape[0]] = r.counts
    n_runs = torch.tensor([r.counts.shape[0] for r in runs], dtype=torch.long)
    return UnitRuns(out_units, out_durations, n_runs)


def restore_units(runs: UnitRuns, pad: int = 0) -> tuple[torch.Tensor, list[int]]:
    """Inverse of `dedup_units`: units `(B, max frames)` padded with `pad`, and the frames of each item.

    Durations may come from a duration predictor; each item's first `n_runs` durations must be >= 1."""
    units, durations, n_runs = runs
    if units.shape != durations.shape or units.dim() != 2 or n_runs.shape != (units.shape[0],):
        raise TokenError(
            f"unit runs disagree: units {tuple(units.shape)}, durations {tuple(durations.shape)}, "
            f"n_runs {tuple(n_runs.shape)}"
        )
    if bool((n_runs < 0).any()) or bool((n_runs > units.shape[1]).any()):
        raise TokenError(f"n_runs must lie in 0..{units.shape[1]}, got {n_runs.tolist()}")
    items = [Runs(units[i, :n, None], durations[i, :n].long()) for i, n in enumerate(n_runs.tolist())]
    if not items:
        return units.new_zeros(0, 0), []
    codes, lengths = restore_codes(items, pad)
    return codes[0], lengths
