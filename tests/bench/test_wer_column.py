"""The leaderboard's intelligibility columns: WER of every codec beside the original audio's, transcripts found
beside wav.scp or given, and a result cache that scores WER again when the transcript changes."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest
import torch

from codeckit.bench import run_bench
from codeckit.bench.data import list_items
from codeckit.bench.runner import ORIGINAL, cache_metric
from codeckit.codecs import build_codec, save_codec
from codeckit.configs import model_config
from codeckit.errors import AudioError

SENTENCES = ["Please call Stella.", "Six spoons of fresh snow peas."]


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory) -> Path:
    """Two flite (slt voice, 16 kHz) utterances of SENTENCES, as utt0.wav and utt1.wav."""
    d = tmp_path_factory.mktemp("speech")
    for i, text in enumerate(SENTENCES):
        subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(d / f"utt{i}.wav")], check=True)
    return d


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, speech_dir) -> Path:
    """A Kaldi data dir (wav.scp and text) over `speech_dir`."""
    d = tmp_path_factory.mktemp("data")
    (d / "wav.scp").write_text("".join(f"utt{i} {speech_dir / f'utt{i}.wav'}\n" for i in range(2)))
    (d / "text").write_text("".join(f"utt{i} {text}\n" for i, text in enumerate(SENTENCES)))
    return d


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, data_dir):
    torch.manual_seed(0)
    model = save_codec(build_codec(model_config("snac_tiny")["model"]), tmp_path_factory.mktemp("m") / "tiny" / "model")
    out = tmp_path_factory.mktemp("bench")
    codecs = ["identity", f"neural={model}"]
    result = run_bench(codecs, data_dir / "wav.scp", out, metrics=["si_sdr", "wer"], progress=False)
    return codecs, out, result


def test_transcripts_found_beside_wav_scp_or_given(data_dir, speech_dir, tmp_path):
    items = list_items(data_dir / "wav.scp")
    assert [it.text for it in items] == SENTENCES
    assert all(it.text is None for it in list_items(speech_dir))  # a folder has no transcripts unless given
    given = tmp_path / "other_text"
    given.write_text("utt1 Something else entirely.\n")
    by_id = {it.id: it.text for it in list_items(speech_dir, given)}
    assert by_id == {"utt0": None, "utt1": "Something else entirely."}
    with pytest.raises(AudioError, match="transcript file not found"):
        list_items(speech_dir, tmp_path / "missing")


def test_every_codec_has_wer_beside_the_original(bench_run):
    _, out, result = bench_run
    by = {s.name: s for s in result.summaries}
    assert set(by) == {"identity", "neural"}
    for s in result.summaries:
        assert s.metrics["wer"].n_ok == 2 and s.metrics["wer"].mean >= 0.0, s.name
        assert s.original["wer"].n_ok == 2
    # the identity codec returns the original audio: the same recognised words, the same WER
    assert by["identity"].metrics["wer"].mean == pytest.approx(by["identity"].original["wer"].mean)
    # an untrained codec's output is no speech: the recogniser finds more errors than on the original
    assert by["neural"].metrics["wer"].mean > by["neural"].original["wer"].mean
    md = (out / "results.md").read_text()
    header = md.splitlines()[0]
    assert "| WER ↓ | WER orig. ↓ |" in header and "WER orig.: the same WER of the original audio" in md
    rows = {r["codec"]: r for r in csv.DictReader(open(out / "results.csv"))}
    assert float(rows["neural"]["wer_orig"]) == pytest.approx(by["neural"].original["wer"].mean)
    per_file = list(csv.DictReader(open(out / "per_file.csv")))
    assert {r["file"] for r in per_file} == {"utt0", "utt1"} and all(r["wer.orig"] != "" for r in per_file)
    assert "WER" in json.loads((out / "results.json").read_text())["metrics"]["wer"]["label"]


def test_cache_keys_wer_by_transcript(bench_run, data_dir, tmp_path):
    """A second run computes nothing; an edited transcript is scored again, for every codec and the original."""
    codecs, out, first = bench_run
    again = run_bench(codecs, data_dir / "wav.scp", out, metrics=["si_sdr", "wer"], progress=False)
    assert again.stats.metric_evaluations == 0 and again.stats.codec_runs == 0
    edited = tmp_path / "text"
    edited.write_text(f"utt0 {SENTENCES[0]}\nutt1 Completely different words here.\n")
    third = run_bench(codecs, data_dir / "wav.scp", out, metrics=["si_sdr", "wer"], progress=False, text=edited)
    assert third.stats.metric_evaluations == 2 + 1  # WER of utt1 for both codecs and the original, nothing else
    item = next(it for it in list_items(data_dir / "wav.scp", edited) if it.id == "utt1")
    old = next(it for it in list_items(data_dir / "wav.scp") if it.id == "utt1")
    assert cache_metric("wer", item) != cache_metric("wer", old) and cache_metric("si_sdr", item) == "si_sdr"
    by = {s.name: s for s in third.summaries}
    assert (
        by["identity"].original["wer"].mean > {s.name: s for s in first.summaries}["identity"].original["wer"].mean
    )  # utt1's new transcript is not what was said
    assert ORIGINAL.name == "original"
