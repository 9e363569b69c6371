"""The leaderboard end to end: baselines and a small neural codec, the cache, failures, and the HTML page."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from codeckit.bench import run_bench
from codeckit.codecs import build_codec, save_codec
from codeckit.configs import model_config

METRICS = ["si_sdr", "mel_distance", "stoi"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    codec = build_codec(model_config("snac_tiny")["model"])
    return save_codec(codec, tmp_path_factory.mktemp("model") / "tiny_snac" / "model")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, speech_dir, tiny_model):
    out = tmp_path_factory.mktemp("bench")
    codecs = ["identity", "codec2:3200", f"neural={tiny_model}", "identity:12.5"]
    result = run_bench(codecs, speech_dir, out, metrics=METRICS, jobs=2, progress=False)
    return codecs, out, result


def _per_file(out: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for r in csv.DictReader(open(out / "per_file.csv")):
        rows.setdefault(r["codec"], []).append(r)
    return rows


def test_delays_declared_or_estimated_once_per_codec(bench_run):
    """The neural codec and identity declare 0; a copy played 12.5 ms late declares nothing and is found on every
    file; Codec2's delay is one estimate for the whole set."""
    _, out, result = bench_run
    by = {s.name: s for s in result.summaries}
    assert (by["neural"].delay_ms, by["neural"].delay_source) == (0.0, "declared")
    assert (by["identity"].delay_ms, by["identity"].delay_source) == (0.0, "declared")
    late = by["identity+12.5ms"]
    assert late.delay_source == "estimated" and late.delay_ms == pytest.approx(12.5, abs=1e-9)
    assert late.metrics["si_sdr"].mean > 100  # scored as if not delayed at all
    assert by["codec2-3200"].delay_source == "estimated"
    files = _per_file(out)
    assert [float(r["align.delay_ms"]) for r in files["neural"]] == [0.0, 0.0]
    assert [float(r["align.delay_ms"]) for r in files["identity+12.5ms"]] == [12.5, 12.5]
    c2 = {float(r["align.delay_ms"]) for r in files["codec2-3200"]}
    assert len(c2) == 1 and c2 == {by["codec2-3200"].delay_ms}


def test_token_stability_columns(bench_run):
    _, out, result = bench_run
    by = {s.name: s for s in result.summaries}
    stab = by["neural"].stability
    assert set(stab) == {"stab.shift", "stab.context", "stab.noise"}
    for k, ms in stab.items():
        assert ms.n_failed == 0 and 0.0 <= ms.mean <= 1.0, k
    assert by["identity"].stability == {} and by["codec2-3200"].stability == {}
    md = (out / "results.md").read_text()
    assert "Tok. Δ shift ↓" in md and "Token stability" in md and "lattice" not in md  # no ViSQOL asked for


def test_outputs_and_rows(bench_run):
    codecs, out, result = bench_run
    assert result.stats.pairs == 8 and result.stats.codec_runs == 8 and not result.stats.failures
    for name in ("results.md", "results.csv", "per_file.csv", "results.json", "index.html", "cache.sqlite"):
        assert (out / name).is_file()
    for m in METRICS:
        assert (out / "plots" / f"{m}.png").read_bytes()[:4] == b"\x89PNG"
    by = {s.name: s for s in result.summaries}
    assert list(by) == ["identity", "codec2-3200", "neural", "identity+12.5ms"]
    assert by["identity"].metrics["si_sdr"].mean > 100 and by["identity"].delay_ms == 0
    assert by["codec2-3200"].effective_bps == pytest.approx(3200, rel=0.05)
    neural = by["neural"]
    assert neural.nominal_bps == pytest.approx(820.3125) and neural.effective_source == "token entropy"
    assert 0 < neural.effective_bps <= neural.nominal_bps
    assert neural.encode_rtf > 0 and neural.decode_rtf > 0
    md = (out / "results.md").read_text()
    assert all(f"| {n} |" in md for n in by)
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["codec"] for r in rows] == list(by)


def test_rerun_only_computes_new_work(bench_run, speech_dir):
    codecs, out, _ = bench_run
    wavs = sorted((out / "work").rglob("*.wav"))
    stamps = [p.stat().st_mtime_ns for p in wavs]
    src = speech_dir
    again = run_bench(codecs, src, out, metrics=METRICS, jobs=1, progress=False)
    assert again.stats.pairs == 0 and again.stats.skipped_pairs == 8
    assert [p.stat().st_mtime_ns for p in wavs] == stamps
    more = run_bench(codecs, src, out, metrics=[*METRICS, "estoi"], jobs=1, progress=False)
    assert more.stats.pairs == 8 and more.stats.codec_runs == 0 and more.stats.metric_evaluations == 8
    with sqlite3.connect(out / "cache.sqlite") as db:
        db.execute("DELETE FROM results WHERE metric = 'si_sdr' AND codec = 'identity' AND file LIKE 'utt1:%'")
    one = run_bench(codecs, src, out, metrics=METRICS, jobs=1, progress=False)
    assert one.stats.pairs == 1 and one.stats.codec_runs == 0 and one.stats.metric_evaluations == 1
    next((out / "work").glob("neural-*/utt0.npz")).unlink()  # a lost token file: only that codec run again
    rerun = run_bench(codecs, src, out, metrics=METRICS, jobs=1, progress=False)
    assert rerun.stats.pairs == 1 and rerun.stats.codec_runs == 1 and rerun.stats.metric_evaluations == 0
    with sqlite3.connect(out / "cache.sqlite") as db:  # metrics stored with another delay are not reused
        db.execute("UPDATE results SET value = 3.0 WHERE metric = 'align.delay_ms' AND codec LIKE 'codec2:%'")
    moved = run_bench(codecs, src, out, metrics=METRICS, jobs=1, progress=False)
    assert moved.stats.pairs == 2 and moved.stats.codec_runs == 0 and moved.stats.metric_evaluations == 2 * 3


def test_failures_are_recorded_not_scored(tmp_path, speech_dir):
    data = tmp_path / "data"
    shutil.copytree(speech_dir, data)
    import soundfile as sf

    sf.write(data / "blip.wav", np.sin(np.arange(480) * 0.3).astype(np.float32) * 0.5, 16000)  # 30 ms
    res = run_bench(["identity"], data, tmp_path / "out", metrics=["mel_distance", "si_sdr"], progress=False)
    s = res.summaries[0]
    assert s.metrics["mel_distance"].n_failed == 1 and s.metrics["mel_distance"].n_ok == 2
    assert "shorter than" in s.metrics["mel_distance"].errors[0]
    assert s.metrics["si_sdr"].n_failed == 0
    assert "(1/3 failed)" in (tmp_path / "out" / "results.md").read_text()
    rows = {r["file"]: r for r in csv.DictReader(open(tmp_path / "out" / "per_file.csv"))}
    assert rows["blip"]["mel_distance"].startswith("ERROR: mel distance")
    again = run_bench(["identity"], data, tmp_path / "out", metrics=["mel_distance", "si_sdr"], progress=False)
    assert again.stats.pairs == 0  # a stored failure is finished work unless --retry-failed
    retry = run_bench(
        ["identity"], data, tmp_path / "out", metrics=["mel_distance", "si_sdr"], retry_failed=True, progress=False
    )
    assert retry.stats.pairs == 1 and retry.stats.metric_evaluations == 1


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.table: str | None = None
        self.rows: dict[str, list[list[str]]] = {}
        self.audio: list[str] = []
        self._cell: list[str] | None = None
        self._section = None
        self._figure = False
        self.figure_svgs = 0
        self.figure_text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "figure" and a.get("id") == "quality-vs-bitrate":
            self._figure = True
        elif tag == "svg" and self._figure:
            self.figure_svgs += 1
        if tag == "table":
            self.table = a.get("id")
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self.rows.setdefault(self.table, []).append([])
        elif tag == "td" and self._section == "tbody":
            self._cell = []
        elif tag == "audio":
            self.audio.append(a.get("src"))

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = False
        if tag == "td" and self._cell is not None:
            self.rows[self.table][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._figure:
            self.figure_text += data
        if self._cell is not None:
            self._cell.append(data)


def test_html_page_in_headless_chromium(bench_run, tmp_path):
    codecs, out, _ = bench_run
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom", (out / "index.html").resolve().as_uri()]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    board = dom.rows["leaderboard"]
    assert [r[0] for r in board] == ["identity", "codec2-3200", "neural", "identity+12.5ms"]
    assert all(len(r) == len(board[0]) for r in board)
    assert [r[0] for r in dom.rows["examples"]] == ["utt0", "utt1"]
    assert len(dom.audio) == 2 * (1 + 4)
    # the quality-vs-bitrate figure is inline SVG; its text stays text, so the rendered DOM names the points
    assert dom.figure_svgs == 1 and "neural" in dom.figure_text and "STOI" in dom.figure_text
    assert dom.audio[0] == "audio/original/utt0.wav"
    for src in dom.audio:
        assert (out / src).is_file(), src


def test_cache_from_an_older_schema_is_discarded(tmp_path):
    from codeckit.bench.cache import SCHEMA, Record, ResultCache

    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as db:  # schema 1: ViSQOL speech was the polynomial map
        db.execute("CREATE TABLE results (codec TEXT, file TEXT, metric TEXT, value REAL, error TEXT)")
        db.execute("INSERT INTO results VALUES ('c', 'f', 'visqol_speech', 4.9, NULL)")
    with ResultCache(path) as cache:
        assert cache.get("c", "f") == {}
        cache.put([Record("c", "f", "stoi", 0.9)])
    with ResultCache(path) as cache:  # the same schema is kept
        assert cache.get("c", "f")["stoi"].value == 0.9
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA


def test_disk_bitrate_from_compressed_files(tmp_path, speech_dir, tiny_model):
    """With a fitted context model in the model directory, Disk kbps counts real .ckc files (headers too)."""
    model = tmp_path / "tiny_snac" / "model"
    shutil.copytree(tiny_model, model)
    fit = subprocess.run(["codeckit", "compress", "fit", str(speech_dir), "--model", str(model)],
                         capture_output=True, text=True)  # fmt: skip
    assert fit.returncode == 0, fit.stderr
    res = run_bench([f"neural={model}", "codec2:3200"], speech_dir, tmp_path / "out", metrics=["si_sdr"])
    neural, c2 = res.summaries
    assert 0 < neural.disk_bps and neural.disk_bps != neural.effective_bps
    assert c2.disk_bps == c2.effective_bps  # a classic codec's bytes produced
    assert "Disk kbps" in (tmp_path / "out" / "results.md").read_text()
