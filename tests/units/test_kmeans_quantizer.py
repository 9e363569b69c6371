"""The `kmeans` quantizer: assignment equals scikit-learn's `predict` on the same centres, decode returns the
centres, the centres are frozen buffers saved with the model, and a units codec (MFCC + kmeans + unit vocoder)
tokenizes through the Python API and through its ONNX export alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

import codeckit
from codeckit.codecs import build_codec, save_codec
from codeckit.errors import ConfigError
from codeckit.quantizers.centroids import read_centroids, write_centroids
from codeckit.registry import QUANTIZERS

sklearn_cluster = pytest.importorskip("sklearn.cluster")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A scikit-learn MiniBatchKMeans (16 centres, dim 6) fit on random data, and its centres as a file."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((600, 6)) + rng.integers(0, 4, (600, 1))).astype(np.float32)
    km = sklearn_cluster.MiniBatchKMeans(16, n_init=1, random_state=0, batch_size=256).fit(x)
    path = write_centroids(tmp_path_factory.mktemp("km") / "km.safetensors", torch.from_numpy(km.cluster_centers_))
    return km, path


def test_assignment_equals_sklearn_predict(fitted, one_thread):
    km, path = fitted
    q = QUANTIZERS.build({"name": "kmeans", "centroids": str(path)})
    assert q.codebook_sizes == [16] and q.dim == 6
    latents = torch.randn(3, 6, 40, generator=torch.Generator().manual_seed(1)) * 2 + 1
    codes = q.encode(latents)[0]
    want = km.predict(latents.transpose(1, 2).reshape(-1, 6).numpy().astype(np.float32))
    assert codes.shape == (3, 40) and codes.dtype == torch.long
    np.testing.assert_array_equal(codes.reshape(-1).numpy(), want)
    q.prepare_export()
    assert torch.equal(q.export_encode(latents, 1)[0], codes)


def test_decode_returns_the_centres_and_forward_learns_nothing(fitted):
    km, path = fitted
    q = QUANTIZERS.build({"name": "kmeans", "centroids": str(path), "n_units": 16, "dim": 6}).train()
    codes = torch.tensor([[0, 5, 15, 5]])
    centres = q.decode([codes])
    assert centres.shape == (1, 6, 4)
    np.testing.assert_allclose(centres[0].T.numpy(), km.cluster_centers_[[0, 5, 15, 5]], rtol=1e-6)
    latents = torch.randn(2, 6, 8, requires_grad=True)
    out = q(latents)
    assert out.losses == {} and not out.quantized.requires_grad and "perplexity/0" in out.stats
    assert torch.equal(out.quantized, q.decode(out.codes)) and not list(q.parameters())
    assert set(q.state_dict()) == {"centroids"}


def test_bad_centroids_are_refused_naming_the_file_or_key(fitted, tmp_path):
    _, path = fitted
    with pytest.raises(ConfigError, match="n_units is 32 but"):
        QUANTIZERS.build({"name": "kmeans", "centroids": str(path), "n_units": 32})
    with pytest.raises(ConfigError, match="does not exist"):
        QUANTIZERS.build({"name": "kmeans", "centroids": str(tmp_path / "missing.safetensors")})
    with pytest.raises(ConfigError, match="give centroids"):
        QUANTIZERS.build({"name": "kmeans", "n_units": 8})
    from safetensors.torch import save_file

    save_file({"weights": torch.zeros(4, 2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ConfigError, match="expected a float tensor 'centroids'"):
        read_centroids(tmp_path / "other.safetensors")


def _units_codec(path) -> dict:
    vocoder = {"name": "unit_hifigan", "latent_dim": 39, "hop_length": 160, "dim": 16, "n_layers": 1}
    return {"sample_rate": 16000, "encoder": {"name": "mfcc"},
            "quantizer": {"name": "kmeans", "centroids": str(path)}, "decoder": vocoder}  # fmt: skip


def test_units_codec_tokenizes_and_exports_to_onnx(tmp_path, one_thread):
    from codeckit.export.exporter import export_codec
    from codeckit.export.runner import OnnxCodec

    rng = np.random.default_rng(0)
    write_centroids(tmp_path / "km.safetensors", torch.from_numpy(rng.standard_normal((32, 39)).astype(np.float32) * 5))
    torch.manual_seed(0)
    codec = build_codec(_units_codec(tmp_path / "km.safetensors"))
    assert codec.bitrate() == pytest.approx(100 * 5) and codec.hop_lengths == [160]
    save_codec(codec, tmp_path / "model")
    model = codeckit.load(tmp_path / "model")
    audio = (0.3 * rng.standard_normal(16000 // 4 + 7)).astype(np.float32)
    tokens = model.tokenize(audio, sr=16000)
    assert tokens.codes[0].shape == (1, 26) and int(tokens.codes[0].max()) < 32
    export_codec(model.codec, tmp_path / "onnx")
    codes = OnnxCodec(tmp_path / "onnx", threads=1).encode(audio[None, None])
    np.testing.assert_array_equal(codes[0][0, :26], tokens.codes[0][0].numpy())


def test_saved_units_model_loads_without_its_centroids_file(tmp_path):
    """The centres are in the model's weights: the saved config drops the file path, so the directory stands alone."""
    rng = np.random.default_rng(1)
    centres = torch.from_numpy(rng.standard_normal((24, 39)).astype(np.float32))
    path = write_centroids(tmp_path / "km.safetensors", centres)
    save_codec(build_codec(_units_codec(path)), tmp_path / "model")
    path.unlink()
    model = codeckit.load(tmp_path / "model")
    torch.testing.assert_close(model.codec.quantizer.centroids, centres, rtol=0, atol=0)
    saved = yaml.safe_load((tmp_path / "model" / "config.yaml").read_text())["model"]["quantizer"]
    assert saved == {"name": "kmeans", "n_units": 24, "dim": 39}
