"""Published k-means files import once: `.npy` without pickles, fairseq's `joblib.dump` of a scikit-learn
estimator through the restricted unpickler, which refuses anything else before it runs (the payloads here would
create a file; the tests check that they did not)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

from codeckit.cli import main
from codeckit.quantizers.centroids import read_centroids
from codeckit.units.errors import UnitsError
from codeckit.units.published import read_published

joblib = pytest.importorskip("joblib")
sklearn_cluster = pytest.importorskip("sklearn.cluster")


class Payload:
    """Unpickling this runs `os.system("touch MARKER")` (as a crafted k-means file would run anything)."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class TouchOnBuild:
    """Unpickling this calls `pathlib.Path.touch` through a reduce of a pathlib function."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def km():
    x = np.random.default_rng(0).standard_normal((400, 5)).astype(np.float32)
    return sklearn_cluster.MiniBatchKMeans(12, n_init=1, random_state=0, batch_size=128).fit(x)


@pytest.mark.parametrize("compress", [0, 3])
def test_fairseq_joblib_file_gives_the_centres(km, tmp_path, compress):
    joblib.dump(km, tmp_path / "km.bin", compress=compress)  # fairseq's learn_kmeans.py: joblib.dump(km_model, path)
    np.testing.assert_array_equal(read_published(tmp_path / "km.bin"), km.cluster_centers_.astype(np.float32))


def test_import_command_writes_a_centroids_file(km, tmp_path):
    np.save(tmp_path / "kmeans_10k.npy", km.cluster_centers_)
    assert main(["units", "import", str(tmp_path / "kmeans_10k.npy"), str(tmp_path / "km.safetensors")]) == 0
    centres, meta = read_centroids(tmp_path / "km.safetensors")
    np.testing.assert_array_equal(centres.numpy(), km.cluster_centers_)
    assert meta["n_units"] == "12" and meta["source"] == "kmeans_10k.npy"


@pytest.mark.parametrize("make", [Payload, TouchOnBuild])
def test_reduce_payload_is_refused_without_running(make, km, tmp_path):
    marker = tmp_path / "payload-ran"
    km.extra_ = make(marker)  # hidden among the estimator's fields
    try:
        joblib.dump(km, tmp_path / "evil.bin")
    finally:
        del km.extra_
    with pytest.raises(UnitsError, match="refusing to load '(posix.system|pathlib.*)'.*nothing of it was run"):
        read_published(tmp_path / "evil.bin")
    assert not marker.exists()
    assert main(["units", "import", str(tmp_path / "evil.bin"), str(tmp_path / "out.safetensors")]) == 2
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


def test_object_arrays_and_other_objects_are_refused(tmp_path):
    joblib.dump({"cluster_centers_": np.array([1, "a"], dtype=object)}, tmp_path / "obj.bin")
    with pytest.raises(UnitsError, match="refusing"):
        read_published(tmp_path / "obj.bin")
    joblib.dump(np.zeros((4, 2)), tmp_path / "array.bin")
    with pytest.raises(UnitsError, match="not a scikit-learn KMeans"):
        read_published(tmp_path / "array.bin")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnitsError, match="not a plain .npy"):
        read_published(tmp_path / "obj.npy")
    np.save(tmp_path / "flat.npy", np.zeros(8, dtype=np.float32))
    with pytest.raises(UnitsError, match=r"shape \(n_units >= 2, dim\)"):
        read_published(tmp_path / "flat.npy")
