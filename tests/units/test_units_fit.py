"""`codeckit units fit`: features dumped in shards, MiniBatchKMeans over the shards, and a units model directory
that `codeckit.load(dir).tokenize(wav)` reads, one level of units at the feature frame rate."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
import torch

import codeckit
from codeckit.cli import main
from codeckit.tokens.dedup import dedup
from codeckit.units.dump import dump_features, read_shard
from codeckit.units.errors import UnitsError
from codeckit.units.fit import assign, fit_kmeans

pytest.importorskip("sklearn")
SR = 16000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Six 0.3 s files of tones of two pitches with noise, listed in a wav.scp."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(6):
        t = np.arange(int(0.3 * SR)) / SR
        x = 0.3 * np.sin(2 * np.pi * (150 if i % 2 else 600) * t) + 0.01 * rng.standard_normal(t.shape)
        sf.write(root / f"u{i}.wav", x.astype(np.float32), SR)
        lines.append(f"u{i} {root / f'u{i}.wav'}")
    (root / "wav.scp").write_text("\n".join(lines) + "\n")
    return root


def test_dump_writes_shards_and_reuses_a_finished_dump(corpus, tmp_path, one_thread):
    shards = dump_features(corpus / "wav.scp", {"name": "mfcc"}, SR, tmp_path / "feats", shard_frames=60)
    assert len(shards) == 3  # 30 frames a file, a shard closes at >= 60 frames
    assert all(read_shard(p).shape == (60, 39) for p in shards)
    before = [p.stat().st_mtime_ns for p in shards]
    again = dump_features(corpus / "wav.scp", {"name": "mfcc"}, SR, tmp_path / "feats", shard_frames=60)
    assert again == shards and [p.stat().st_mtime_ns for p in again] == before
    half = dump_features(corpus / "wav.scp", {"name": "mfcc"}, SR, tmp_path / "half", percent=0.5)
    assert sum(read_shard(p).shape[0] for p in half) == 90


def test_partial_fit_over_shards_finds_the_clusters(corpus, tmp_path, one_thread):
    shards = dump_features(corpus / "wav.scp", {"name": "mfcc"}, SR, tmp_path / "feats", shard_frames=60)
    fit = fit_kmeans(shards, n_units=4, epochs=3, batch_size=32, seed=0)
    assert fit.centres.shape == (4, 39) and fit.frames == 180 and fit.used >= 2
    feats = np.concatenate([read_shard(p) for p in shards])
    spread = float(((feats - feats.mean(0)) ** 2).sum(1).mean())
    assert fit.inertia < 0.5 * spread  # the two tones are two clusters: far tighter than one centre
    assert np.array_equal(assign(feats[:5], fit.centres), assign(feats[:5].astype(np.float64), fit.centres))
    with pytest.raises(UnitsError, match="cannot seed 400 centres"):
        fit_kmeans(shards, n_units=400, epochs=1)


def test_units_fit_command_gives_a_units_model_dir(corpus, tmp_path, capsys, one_thread):
    args = ["units", "fit", "--scp", str(corpus / "wav.scp"), "--out", str(tmp_path / "units"),
            "--n-units", "8", "--epochs", "2", "--batch-size", "64"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_units"] == 8 and summary["frames"] == 180
    model = codeckit.load(tmp_path / "units" / "model")
    assert model.codec.bitrate() == pytest.approx(100 * 3) and model.codec.quantizer.codebook_sizes == [8]
    tokens = model.tokenize(str(corpus / "u0.wav"))
    assert tokens.codes[0].shape == (1, 30) and tokens.codes[0].dtype == torch.long
    audio, _ = sf.read(corpus / "u0.wav", dtype="float32")
    feats = model.codec.encoder(torch.from_numpy(audio)[None, None])[0].T.detach().numpy()
    centres = model.codec.quantizer.centroids.numpy()
    np.testing.assert_array_equal(tokens.codes[0][0].numpy(), assign(feats, centres))
    assert main(["units", "fit", "--scp", str(tmp_path / "none.scp"), "--out", str(tmp_path / "x")]) == 2

    model.save_tokens(tokens, tmp_path / "tok" / "u0.tokens.safetensors")
    assert main(["units", "strings", str(tmp_path / "tok"), "--out", str(tmp_path / "sg.txt")]) == 0
    utt, text = (tmp_path / "sg.txt").read_text().split()
    assert utt == "u0" and text.startswith("<sosp><") and text.endswith("><eosp>")
    assert re.findall(r"<(\d+)>", text) == [str(u) for u in dedup(tokens.codes[0][0]).values.tolist()]
