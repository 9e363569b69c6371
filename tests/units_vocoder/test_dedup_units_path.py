"""De-duplicated units end to end: runs of a units codec, the duration predictor's fit and its files in the model
directory, decoding runs with given or predicted durations, and the leaderboard's `dedup:MODEL_DIR` codec."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from codeckit.audio import read_audio
from codeckit.bench.codecs import run_codec
from codeckit.bench.specs import SpecError, parse_spec
from codeckit.codecs import load_codec, save_codec
from codeckit.tokens.dedup import restore
from codeckit.units.duration_fit import (
    DURATION_CONFIG,
    DedupUnits,
    DurationFitError,
    collect_runs,
    decode_runs,
    load_duration_predictor,
    main,
    unit_runs,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model_dir(units_model, units_corpus, tmp_path_factory, make_codec, torch_threads):
    """A saved tiny units codec with a duration predictor fit by the module's command line (30 steps)."""
    path = save_codec(make_codec(units_model), tmp_path_factory.mktemp("units") / "model")
    with torch_threads(1):
        assert main([str(path), str(units_corpus), "--steps", "30", "--batch-size", "4", "--dim", "16"]) == 0
    return path


def test_runs_restore_the_frame_units(model_dir, units_corpus):
    codec = load_codec(model_dir)
    runs = collect_runs(codec, units_corpus, max_files=3)
    audio, _ = read_audio(units_corpus.parent / "utt00.wav", 16000)
    assert len(runs) == 3 and torch.equal(runs[0].values, unit_runs(codec, audio).values)
    frames = codec.encode(audio[None])[0][0]
    assert torch.equal(restore(runs[0]), frames)
    assert len(runs[0].values) < len(frames)  # steady segments repeat units


def test_predictor_files_round_trip(model_dir):
    doc = yaml.safe_load((model_dir / DURATION_CONFIG).read_text())
    assert doc["predictor"] == {"in_dim": 39, "dim": 16, "n_layers": 2, "kernel_size": 3, "dropout": 0.1}
    assert doc["fit"]["steps"] == 30 and doc["summary"]["held_out"]["runs"] > 0
    a, b = load_duration_predictor(model_dir), load_duration_predictor(model_dir)
    x = torch.randn(1, 39, 9)
    assert not a.training and torch.equal(a(x), b(x))
    assert float(a.std.min()) > 0 and not torch.equal(a.std, torch.ones(39))  # normalisation was fit and saved


def test_decode_runs_with_given_and_predicted_durations(model_dir, units_corpus):
    codec, predictor = load_codec(model_dir), load_duration_predictor(model_dir)
    audio, _ = read_audio(units_corpus.parent / "utt01.wav", 16000)
    runs = unit_runs(codec, audio)
    with torch.no_grad():
        reference = codec.decode(codec.encode(audio[None]))[0]
    given = decode_runs(codec, runs.values, counts=runs.counts)
    assert given.shape == reference.shape and torch.allclose(given, reference, atol=1e-6)
    predicted = decode_runs(codec, runs.values, predictor=predictor)
    counts = predictor.counts(codec.quantizer.decode([runs.values[None]]))[0]
    assert predicted.shape == (1, int(counts.sum()) * 160) and bool((counts >= 1).all())
    with pytest.raises(DurationFitError, match="either the runs' counts or a duration predictor"):
        decode_runs(codec, runs.values)


def test_missing_predictor_is_named(units_model, make_codec, tmp_path):
    path = save_codec(make_codec(units_model), tmp_path / "bare")
    with pytest.raises(DurationFitError, match="has no duration.yaml"):
        load_duration_predictor(path)
    with pytest.raises(SpecError, match="has no duration.yaml"):
        parse_spec(f"dedup:{path}")


def test_leaderboard_dedup_codec(model_dir, units_corpus):
    entry = parse_spec(f"dedup:{model_dir}")
    assert entry.kind == "units_dedup" and entry.name.endswith("-dedup") and entry.key.startswith("dedup:")
    audio, _ = read_audio(units_corpus.parent / "utt02.wav", 16000)
    out = run_codec(entry, audio[:, :8000], 16000)  # 0.5 s, 50 frames
    (units,) = out.tokens
    assert out.decoded.shape == (1, 8000)  # re-timed output cut or padded to the input's length
    assert 0 < len(units) < 50 and out.bits == pytest.approx(len(units) * math.log2(12))
    assert out.nominal_bps == pytest.approx(out.bits / 0.5) and out.nominal_bps < 100 * math.log2(12)
    frame_level = run_codec(parse_spec(str(model_dir)), audio[:, :8000], 16000)
    assert frame_level.nominal_bps == pytest.approx(100 * math.log2(12))


def test_api_tokenizes_and_detokenizes_dedup_units(model_dir, units_corpus):
    """`DedupUnits`: files -> runs; runs with their own counts decode as the frame-level units do, and without
    counts through the predicted durations."""
    units = DedupUnits(model_dir)
    paths = [units_corpus.parent / "utt03.wav", units_corpus.parent / "utt04.wav"]
    runs = units.tokenize(paths)
    assert len(runs) == 2 and all(int(r.counts.sum()) == 60 for r in runs)
    frame_level = units.model.detokenize(units.model.tokenize(paths))
    exact = units.detokenize([r.values for r in runs], counts=[r.counts for r in runs])
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(exact, frame_level))
    predicted = units.detokenize(runs[0].values)
    expected = units.predictor.counts(units.model.codec.quantizer.decode([runs[0].values[None]]))[0]
    assert len(predicted) == 1 and predicted[0].shape == (1, int(expected.sum()) * 160)
    with pytest.raises(DurationFitError, match="2 unit sequences but 1 count"):
        units.detokenize([r.values for r in runs], counts=[runs[0].counts])
