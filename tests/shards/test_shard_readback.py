"""Shards written by two processes read back through Lhotse, HF `datasets` and `codeckit.tokens.shards`, equal to
per-file `codeckit tokenize` on every utterance; a corrupt file is listed and skipped, or with --strict stops it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from codeckit.cli import main
from codeckit.tokens import layout, load_tokens
from codeckit.tokens.shards import ShardSet

GOOD = [f"utt{i:02d}" for i in range(8)]


@pytest.fixture(scope="module")
def runs(corpus, snac_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(per-file token folder, shard folder from 2 processes, shards of 3 utterances, Orpheus ids in Parquet)."""
    root = tmp_path_factory.mktemp("runs")
    base = ["--model", str(snac_dir), "--threads", "1"]
    assert main(["tokenize", str(corpus), *base, "--out", str(root / "files")]) == 2  # the corrupt file fails it
    shards = root / "shards"
    rc = main(["tokenize", str(corpus), *base, "--out", str(shards), "--shards", "shar,parquet",
               "--shard-size", "3", "--jobs", "2", "--layout", "orpheus"])  # fmt: skip
    assert rc == 0
    return root / "files", shards


def _per_file(files: Path, utt: str):
    return load_tokens(files / f"{utt}.tokens.safetensors")


def test_codeckit_reader_equals_per_file_tokenize(runs):
    files, shards = runs
    for fmt in ("parquet", "shar"):
        items = list(ShardSet(shards, format=fmt).items())
        assert [it.id for it in items] == GOOD
        for it in items:
            ref = _per_file(files, it.id)
            assert all(torch.equal(a, b) for a, b in zip(it.codes, ref.codes)), (fmt, it.id)
            assert (it.length, it.source, it.source_sample_rate) == (
                ref.header.length, ref.header.source, ref.header.source_sample_rate,
            )  # fmt: skip
    batches = list(ShardSet(shards).tokens(batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 2]
    b = batches[1]
    assert b.codes[0].dtype == torch.int64 and b.sample_rate == 24000
    assert all(torch.equal(x, y) for x, y in zip(b[2], _per_file(files, GOOD[5]).codes))


def test_lhotse_from_shar_reads_the_codes(runs):
    from lhotse import CutSet

    files, shards = runs
    cuts = list(CutSet.from_shar(in_dir=shards / "shar"))
    assert [c.id for c in cuts] == GOOD
    for c in cuts:
        ref = _per_file(files, c.id)
        codes = [torch.from_numpy(c.load_custom(f"codes_{level}")).long() for level in range(3)]
        assert all(torch.equal(a, b) for a, b in zip(codes, ref.codes)), c.id
        assert c.codes_meta["length"] == ref.header.length
        assert c.recording.sources[0].source == ref.header.source  # the cut points at the original audio


def test_hf_datasets_reads_the_parquet_shards(runs):
    import datasets

    files, shards = runs
    ds = datasets.load_dataset("parquet", data_files=sorted(str(p) for p in (shards / "parquet").glob("*.parquet")),
                               split="train", cache_dir=str(shards.parent / "hf_cache"))  # fmt: skip
    assert ds["id"] == GOOD
    orpheus = layout("orpheus")
    for row in ds:
        ref = _per_file(files, row["id"])
        assert all(torch.equal(torch.tensor(a), b) for a, b in zip(row["codes"], ref.codes))
        assert all(torch.equal(a, b) for a, b in zip(orpheus.decode(row["input_ids"]), ref.codes))


def test_corrupt_file_is_listed_and_skipped(runs):
    _, shards = runs
    record = json.loads((shards / "index/shard.000000.json").read_text())
    assert record["utterances"] == 2 and [e["id"] for e in record["errors"]] == ["broken"]
    assert "broken.wav" in record["errors"][0]["error"]
    assert main(["shards", "verify", str(shards)]) == 0


def test_unpack_writes_the_per_file_token_files(runs, tmp_path):
    files, shards = runs
    assert main(["shards", "unpack", str(shards), "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{utt}.tokens.safetensors" for utt in GOOD]
    for utt in GOOD:  # same header and codes (the bytes differ: safetensors orders metadata keys at random)
        got, ref = load_tokens(tmp_path / f"{utt}.tokens.safetensors"), _per_file(files, utt)
        assert got.header == ref.header and all(torch.equal(a, b) for a, b in zip(got.codes, ref.codes)), utt


def test_strict_stops_both_processes_at_the_corrupt_file_with_one_line(corpus, snac_dir, tmp_path, capsys):
    rc = main(["tokenize", str(corpus), "--model", str(snac_dir), "--threads", "1", "--out", str(tmp_path),
               "--shards", "parquet", "--shard-size", "3", "--strict", "--jobs", "2"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()  # \r splits too: a progress bar shown then erased is ignored
    assert rc == 2 and [line for line in err if "error" in line] == err[-1:], err
    line = err[-1]
    assert line.startswith("codeckit tokenize: error: broken (") and "broken.wav" in line and "--strict" in line
    assert not (tmp_path / "index/shard.000000.json").exists()
