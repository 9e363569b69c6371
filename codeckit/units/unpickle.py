"""Read fairseq's k-means files (`joblib.dump` of a scikit-learn (MiniBatch)KMeans) without running their code.

A pickle names the callables that rebuild it, and `pickle.load` calls them: a crafted file runs whatever it
names. `RestrictedUnpickler` admits only what such a file needs, and builds none of it from the named module:
- joblib's `NumpyArrayWrapper` (the array's raw bytes follow in the file; object dtypes, whose bytes are a
  further unrestricted pickle, are refused), numpy's `dtype`, `ndarray` reconstruction and scalars of plain dtypes;
- the estimator class (`sklearn.cluster..KMeans` / `MiniBatchKMeans`), replaced by `EstimatorState`, which
  only keeps the pickled fields as a dict.
Anything else (`os.system`, `builtins.eval`, a `__reduce__` payload's callable) raises UnitsError before it runs.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from codeckit.units.errors import UnitsError

ESTIMATORS = {
    ("sklearn.cluster._kmeans", "MiniBatchKMeans"),
    ("sklearn.cluster._kmeans", "KMeans"),
    ("sklearn.cluster.k_means_", "MiniBatchKMeans"),  # scikit-learn < 0.22
    ("sklearn.cluster.k_means_", "KMeans"),
}
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")


class EstimatorState:
    """Stand-in for a pickled scikit-learn estimator: its fields, and nothing of its code."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise UnitsError(f"the estimator's pickled state is a {type(state).__name__}, not a dict of fields")
        self.fields = state


def _scalar(dtype: np.dtype, data: bytes = b"") -> Any:
    """numpy's scalar reconstruction, for plain (non-object) dtypes only."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise UnitsError(f"refusing a numpy scalar of dtype {dtype!r} (only plain numeric scalars are read)")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _reconstruct(cls: type, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's empty-array reconstruction (its state comes by BUILD), for ndarray itself only."""
    if cls is not np.ndarray:
        raise UnitsError(f"refusing to rebuild an array of class {cls!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _allowed(module: str, name: str) -> Any:
    """What `find_class` may return for (module, name), else None."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    if (module, name) in ESTIMATORS:
        return EstimatorState
    if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
        return NumpyArrayWrapper
    if (module, name) in (("numpy", "dtype"), ("numpy", "ndarray")):
        return getattr(np, name)
    if module in _NUMPY_CORE and name in ("_reconstruct", "scalar"):
        return _reconstruct if name == "_reconstruct" else _scalar
    return None


def _unpickler_class() -> type:
    """joblib's NumpyUnpickler (which reads the arrays' raw bytes) with `find_class` and BUILD restricted."""
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class RestrictedUnpickler(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def find_class(self, module: str, name: str) -> Any:
            found = _allowed(module, name)
            if found is None:
                raise UnitsError(
                    f"{self._filename}: refusing to load '{module}.{name}': a k-means file holds only numpy arrays "
                    "and the estimator's fields (the file may carry code; nothing of it was run)"
                )
            return found

        def load_build(self) -> None:
            state = self.stack[-1]
            target = self.stack[-2] if len(self.stack) > 1 else None
            if isinstance(target, NumpyArrayWrapper):
                dtype = state.get("dtype") if isinstance(state, dict) else None
                if not isinstance(dtype, np.dtype) or dtype.hasobject:
                    raise UnitsError(f"{self._filename}: refusing an array of dtype {dtype!r} (object arrays run code)")
            elif target is not None and not isinstance(target, (EstimatorState, np.ndarray, np.dtype)):
                raise UnitsError(f"{self._filename}: refusing to set the state of a {type(target).__name__}")
            NumpyUnpickler.load_build(self)

        dispatch[pickle.BUILD[0]] = load_build

    return RestrictedUnpickler


def load_kmeans_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """The fields of the k-means estimator that fairseq's `joblib.dump` wrote to `path`, read without its code."""
    try:
        from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap
    except ImportError:
        raise UnitsError("reading a joblib k-means file needs joblib: pip install 'codeckit[units]'") from None
    path = Path(path)
    with open(path, "rb") as raw, _validate_fileobject_and_memmap(raw, str(path)) as (fobj, _):
        if isinstance(fobj, str):
            raise UnitsError(f"{path}: written by joblib < 0.10 (arrays in companion files), which is not read")
        unpickler = _unpickler_class()(str(path), fobj, ensure_native_byte_order=True)
        unpickler._filename = str(path)
        try:
            obj = unpickler.load()
        except UnitsError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, io.UnsupportedOperation) as e:
            raise UnitsError(f"{path}: not a readable joblib k-means file ({type(e).__name__}: {e})") from None
    if not isinstance(obj, EstimatorState):
        raise UnitsError(f"{path}: holds a {type(obj).__name__}, not a scikit-learn KMeans / MiniBatchKMeans")
    return obj.fields
