"""Fitting a context model: count each level's codes after each context over a codec's training tokens."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from codeckit.compress.contexts import check_codes_fit, chunk_rows, level_stages
from codeckit.compress.errors import CompressError
from codeckit.compress.model import CodecSpec, ContextConfig, ContextModel
from codeckit.compress.tables import CountAccumulator


def as_arrays(codes: Sequence, levels: int, where: str = "codes") -> list[np.ndarray]:
    """One item's codes (1-D tensors or arrays, one per active level) as int64 numpy arrays."""
    out = []
    for c in codes:
        a = c.detach().cpu().numpy() if hasattr(c, "detach") else np.asarray(c)
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise CompressError(f"{where}: each level must be a 1-D integer array, got {a.dtype} {a.shape}")
        out.append(a.astype(np.int64))
    if not 1 <= len(out) <= levels:
        raise CompressError(f"{where}: {len(out)} levels of codes; the codec has {levels}")
    return out


def fit_context_model(
    streams: Iterable[Sequence],
    spec: CodecSpec,
    config: ContextConfig | None = None,
    total: int | None = None,
    progress: bool = False,
) -> ContextModel:
    """Count every level's codes after their contexts over `streams` (each one item's codes per active level)."""
    config = config or ContextConfig()
    config.check()
    sizes, hops = spec.codebook_sizes, spec.hop_lengths
    stages = [level_stages(config.stages, lv, sizes, config.buckets) for lv in range(spec.levels)]
    unigrams = [np.zeros(s, np.int64) for s in sizes]
    acc = [[CountAccumulator(st.rows, sizes[lv]) for st in stages[lv]] for lv in range(spec.levels)]
    for i, item in enumerate(tqdm(streams, total=total, desc="fit context model", unit="item", disable=not progress)):
        codes = as_arrays(item, spec.levels, where=f"item {i}")
        check_codes_fit(codes, sizes, where=f"item {i}")
        for lv, x in enumerate(codes):
            unigrams[lv] += np.bincount(x, minlength=sizes[lv])
            rows = chunk_rows(codes, lv, stages[lv], hops, sizes[lv])
            for s, a in enumerate(acc[lv]):
                a.add(rows[s], x)
    return ContextModel(config, spec, unigrams, [[a.table() for a in level] for level in acc])


def ideal_bits(model: ContextModel, codes: Sequence[np.ndarray]) -> list[float]:
    """Bits per level an ideal coder spends on one item's codes under `model` (one chunk, no framing)."""
    sizes, hops = model.spec.codebook_sizes, model.spec.hop_lengths
    out = []
    for lv, x in enumerate(codes):
        rows = chunk_rows(codes, lv, model.stages[lv], hops, sizes[lv])
        bits = 0.0
        for t in range(x.shape[0]):
            bits -= math.log2(model.distribution(lv, tuple(int(r) for r in rows[:, t]))[x[t]])
        out.append(bits)
    return out
