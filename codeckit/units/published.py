"""Import published k-means files once into a codeckit centroids file (`codeckit.quantizers.centroids`).

- `.npy`: the centres (n_units, dim) as they are, read with `allow_pickle=False` (SeamlessM4T's `kmeans_10k.npy`).
- fairseq / SpeechGPT / TWIST `joblib.dump` files (`*.bin`, `*.pkl`, `*.joblib`, any other name): the estimator's
  `cluster_centers_`, read through `codeckit.units.unpickle` (no code in the file runs).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from codeckit.quantizers.centroids import write_centroids
from codeckit.units.errors import UnitsError
from codeckit.units.unpickle import load_kmeans_pickle


def _check(centres: np.ndarray, path: Path) -> np.ndarray:
    """`centres` as float32 (n_units, dim) after checking shape and values."""
    if centres.ndim != 2 or centres.shape[0] < 2 or centres.shape[1] < 1:
        raise UnitsError(f"{path}: expected centres of shape (n_units >= 2, dim), got {centres.shape}")
    if not np.issubdtype(centres.dtype, np.floating) or not np.isfinite(centres).all():
        raise UnitsError(f"{path}: the centres must be finite floats, got dtype {centres.dtype}")
    return centres.astype(np.float32)


def read_published(path: str | os.PathLike) -> np.ndarray:
    """The (n_units, dim) float32 centres of a published k-means file (`.npy` or a joblib pickle)."""
    path = Path(path)
    if not path.is_file():
        raise UnitsError(f"k-means file {path} does not exist")
    if path.suffix == ".npy":
        try:
            return _check(np.load(path, allow_pickle=False), path)
        except ValueError as e:
            raise UnitsError(f"{path}: not a plain .npy array of centres ({e})") from None
    fields = load_kmeans_pickle(path)
    centres = fields.get("cluster_centers_")
    if not isinstance(centres, np.ndarray):
        raise UnitsError(f"{path}: the estimator has no fitted cluster_centers_ (fields: {', '.join(sorted(fields))})")
    return _check(centres, path)


def import_published(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Convert the published k-means file `src` to the centroids file `dst` (safetensors), once."""
    centres = read_published(src)
    meta = {"source": Path(src).name, "n_units": str(centres.shape[0]), "dim": str(centres.shape[1])}
    return write_centroids(dst, torch.from_numpy(centres), meta)
