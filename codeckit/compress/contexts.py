"""What a level's code is predicted from: named features of the codes already coded, mapped to table rows.

A stage is a tuple of features; its row for a frame is the mixed-radix index of the feature values when
they fit in `buckets` rows, else a fixed integer hash of them modulo `buckets` (so a table never has more
than `buckets` rows however large the codebooks). Features of level l at frame t (chunk-local):

- `prev`, `prev2`: the level's own code 1 or 2 frames back (`none`, the codebook size, at a chunk's start);
- `coarse`, `coarse2`: the code of level l-1 or l-2 at the same time (frame t * hop_l // hop_{l-k}).

The vectorised form (fitting, encoding) and the scalar form (decoding) are the same integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codeckit.compress.errors import CompressError

FEATURES = {"prev": ("prev", 1), "prev2": ("prev", 2), "coarse": ("coarse", 1), "coarse2": ("coarse", 2)}
_M31 = (1 << 31) - 1  # hash arithmetic modulo a Mersenne prime stays inside int64 in numpy
_MUL, _MIX = 1_000_003, 1_540_483_477


def parse_stages(text: str) -> list[list[str]]:
    """'coarse+prev,coarse,prev' -> [['coarse', 'prev'], ['coarse'], ['prev']] (most specific first)."""
    if not text.strip():
        return []
    stages = [[f.strip() for f in part.split("+")] for part in text.split(",")]
    check_stages(stages)
    return stages


def check_stages(stages: Sequence[Sequence[str]]) -> None:
    """Raise CompressError naming an unknown feature or an empty stage."""
    for stage in stages:
        if not stage:
            raise CompressError("a context stage has no features")
        for f in stage:
            if f not in FEATURES:
                raise CompressError(f"unknown context feature '{f}' (known: {', '.join(FEATURES)})")


@dataclass(frozen=True)
class LevelStage:
    """One stage as it applies at one level: the features present there, their value counts, and the rows."""

    features: tuple[tuple[str, int], ...]  # (kind, k): ("prev", 1) or ("coarse", 2) ...
    radix: tuple[int, ...]  # number of values each feature takes
    rows: int  # table rows: the product of the radices, or `buckets` when hashed
    hashed: bool


def level_stages(
    stages: Sequence[Sequence[str]], level: int, codebook_sizes: Sequence[int], buckets: int
) -> list[LevelStage]:
    """The stages of `stages` usable at `level` (features of absent coarser levels dropped, duplicates once),
    least specific first: the order the backoff chain is applied in."""
    out: list[LevelStage] = []
    seen: set[tuple] = set()
    for stage in reversed(list(stages)):
        feats = tuple(sorted({FEATURES[f] for f in stage if FEATURES[f][0] == "prev" or FEATURES[f][1] <= level}))
        if not feats or feats in seen:
            continue
        seen.add(feats)
        radix = tuple(codebook_sizes[level - k if kind == "coarse" else level] + 1 for kind, k in feats)
        size = int(np.prod(radix, dtype=object))
        out.append(LevelStage(feats, radix, min(size, buckets), size > buckets))
    return out


def _row(values: Sequence[int], stage: LevelStage) -> int:
    """The table row of one frame's feature values (scalar twin of `_rows`)."""
    if stage.hashed:
        h = 0
        for v in values:
            h = (h * _MUL + v + 1) % _M31
        return (h * _MIX % _M31) % stage.rows
    r = 0
    for v, n in zip(values, stage.radix):
        r = r * n + v
    return r


def _rows(values: Sequence[np.ndarray], stage: LevelStage) -> np.ndarray:
    """The table rows of many frames' feature values (int64 arrays, one per feature)."""
    if stage.hashed:
        h = np.zeros_like(values[0])
        for v in values:
            h = (h * _MUL + v + 1) % _M31
        return (h * _MIX % _M31) % stage.rows
    r = np.zeros_like(values[0])
    for v, n in zip(values, stage.radix):
        r = r * n + v
    return r


def feature_values(codes: Sequence[np.ndarray], level: int, hops: Sequence[int], none: int) -> dict:
    """Every feature's values for all frames of `level` in one chunk (int64 arrays keyed by (kind, k))."""
    x = codes[level]
    n = x.shape[0]
    out = {}
    for k in (1, 2):
        out[("prev", k)] = np.concatenate([np.full(min(k, n), none, np.int64), x[: max(0, n - k)]])
        if level - k >= 0:
            idx = np.arange(n, dtype=np.int64) * hops[level] // hops[level - k]
            out[("coarse", k)] = codes[level - k][idx]
    return out


def chunk_rows(
    codes: Sequence[np.ndarray], level: int, stages: Sequence[LevelStage], hops: Sequence[int], none: int
) -> np.ndarray:
    """`(n_stages, frames)` table rows for every frame of `level` in a chunk whose codes are all known."""
    values = feature_values(codes, level, hops, none)
    if not stages:
        return np.zeros((0, codes[level].shape[0]), np.int64)
    return np.stack([_rows([values[f] for f in s.features], s) for s in stages])


class ScalarContext:
    """Rows of one frame at a time while a level is being decoded (its earlier frames known, coarser levels done)."""

    def __init__(self, codes: Sequence[np.ndarray], level: int, stages: Sequence[LevelStage], hops: Sequence[int]):
        self.stages = list(stages)
        self.coarse = {k: codes[level - k].tolist() for k in (1, 2) if level - k >= 0}
        self.ratio = {k: (hops[level], hops[level - k]) for k in self.coarse}

    def rows(self, decoded: list[int], t: int, none: int) -> tuple[int, ...]:
        """The stage rows of frame t given this level's frames decoded so far."""
        out = []
        for s in self.stages:
            vals = []
            for kind, k in s.features:
                if kind == "prev":
                    vals.append(decoded[t - k] if t >= k else none)
                else:
                    num, den = self.ratio[k]
                    vals.append(self.coarse[k][t * num // den])
            out.append(_row(vals, s))
        return tuple(out)


def check_codes_fit(codes: Sequence[np.ndarray], codebook_sizes: Sequence[int], where: str) -> None:
    """Raise CompressError naming the level of a code outside its codebook."""
    for level, (c, size) in enumerate(zip(codes, codebook_sizes)):
        if c.size and (int(c.min()) < 0 or int(c.max()) >= size):
            raise CompressError(f"{where}: level {level} has codes outside 0..{size - 1}")
