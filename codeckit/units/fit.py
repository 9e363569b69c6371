"""Fit k-means over dumped feature shards with scikit-learn's MiniBatchKMeans, as fairseq's `learn_kmeans.py`
(k-means++ seeding, `reassignment_ratio` 0, `tol` 0), but with `partial_fit` over the shards so a corpus larger
than memory fits: each pass visits the shards in a random order and feeds each one in shuffled mini-batches of
`batch_size` frames. The seeding batch holds at least `init_size` frames (3 * n_units by default)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codeckit.units.dump import read_shard
from codeckit.units.errors import UnitsError

log = logging.getLogger("codeckit.units")


@dataclass
class KMeansFit:
    """Fitted centres (n_units, dim) float32 and the fit's summary."""

    centres: np.ndarray
    frames: int  # frames seen per pass
    inertia: float  # mean squared distance of a frame to its centre, over all shards after the last pass
    used: int  # centres that are the nearest to at least one frame


def _model(n_units: int, batch_size: int, init_size: int, seed: int):
    try:
        from sklearn.cluster import MiniBatchKMeans
    except ImportError:
        raise UnitsError("fitting k-means needs scikit-learn: pip install 'codeckit[units]'") from None
    return MiniBatchKMeans(
        n_clusters=n_units, init="k-means++", batch_size=batch_size, init_size=init_size, n_init=1,
        random_state=seed, reassignment_ratio=0.0, tol=0.0, compute_labels=False,
    )  # fmt: skip


def fit_kmeans(
    shards: Sequence[str | os.PathLike],
    n_units: int,
    epochs: int = 5,
    batch_size: int = 10_000,
    init_size: int | None = None,
    seed: int = 0,
) -> KMeansFit:
    """MiniBatchKMeans over the frames of `shards` for `epochs` passes (see the module docstring)."""
    if n_units < 2 or epochs < 1 or batch_size < 1:
        raise UnitsError(f"need n_units >= 2, epochs >= 1, batch_size >= 1, got {n_units}, {epochs}, {batch_size}")
    if not shards:
        raise UnitsError("no feature shards to fit k-means on")
    init_size = max(3 * n_units, batch_size) if init_size is None else int(init_size)
    km = _model(n_units, batch_size, init_size, seed)
    rng = np.random.default_rng(seed)
    frames, started = 0, False
    for epoch in range(epochs):
        frames = 0
        for i in rng.permutation(len(shards)):
            feats = read_shard(shards[i])
            frames += feats.shape[0]
            order = rng.permutation(feats.shape[0])
            step = batch_size if started else max(batch_size, init_size)
            if not started and feats.shape[0] < n_units:
                raise UnitsError(f"{shards[i]}: {feats.shape[0]} frames cannot seed {n_units} centres")
            start = 0
            while start < len(order):
                km.partial_fit(feats[order[start : start + step]])
                start, started, step = start + step, True, batch_size
        log.info("k-means pass %d/%d over %d frames", epoch + 1, epochs, frames)
    centres = km.cluster_centers_.astype(np.float32)
    inertia, used = _score(shards, centres)
    return KMeansFit(centres, frames, inertia, used)


def assign(feats: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each row of `feats` (n, dim): argmin ||c||^2 - 2 x . c."""
    c2 = (centres.astype(np.float64) ** 2).sum(1)
    return np.argmin(c2[None, :] - 2.0 * feats.astype(np.float64) @ centres.T.astype(np.float64), axis=1)


def _score(shards: Sequence[str | os.PathLike], centres: np.ndarray) -> tuple[float, int]:
    """(mean squared distance of a frame to its nearest centre, how many centres are used) over `shards`."""
    total, frames, used = 0.0, 0, np.zeros(len(centres), dtype=bool)
    for path in shards:
        feats = read_shard(path)
        idx = assign(feats, centres)
        total += float(((feats - centres[idx]) ** 2).sum())
        frames += feats.shape[0]
        used[idx] = True
    return total / max(frames, 1), int(used.sum())
