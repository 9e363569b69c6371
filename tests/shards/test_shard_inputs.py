"""Corpus inputs beside wav.scp: a folder, a Lhotse manifest, a Lhotse Shar folder (whose own cuts stay the manifest:
only the codes fields are added); options that do not fit are refused with one line."""

from __future__ import annotations

import pytest
import torch

from codeckit.cli import main
from codeckit.tokens import load_tokens
from codeckit.tokens.shards import ShardSet

GOOD = [f"utt{i:02d}" for i in range(8)]


@pytest.fixture(scope="module")
def reference(corpus, seanet_dir, tmp_path_factory):
    """Per-file token files of the corpus' good utterances."""
    out = tmp_path_factory.mktemp("ref")
    assert main(["tokenize", str(corpus), "--model", str(seanet_dir), "--threads", "1", "--out", str(out)]) == 2
    return {u: load_tokens(out / f"{u}.tokens.safetensors") for u in GOOD}


@pytest.fixture(scope="module")
def cuts(corpus):
    from lhotse import CutSet, Recording

    lines = [line.split() for line in corpus.read_text().splitlines() if not line.startswith("broken")]
    return CutSet.from_cuts(Recording.from_file(p, recording_id=u).to_cut() for u, p in lines)


def _same(shards: ShardSet, reference) -> None:
    items = list(shards.items())
    assert [it.id for it in items] == GOOD
    for it in items:
        assert all(torch.equal(a, b) for a, b in zip(it.codes, reference[it.id].codes)), it.id
        assert it.length == reference[it.id].header.length


def test_lhotse_manifest(cuts, seanet_dir, reference, tmp_path):
    cuts.to_file(tmp_path / "cuts.jsonl.gz")
    out = tmp_path / "out"
    assert main(["tokenize", str(tmp_path / "cuts.jsonl.gz"), "--model", str(seanet_dir), "--threads", "1",
                 "--out", str(out), "--shards", "shar", "--shard-size", "5"]) == 0  # fmt: skip
    _same(ShardSet(out), reference)


def test_lhotse_shar_input_gets_a_codes_field(cuts, seanet_dir, reference, tmp_path):
    from lhotse import CutSet

    (tmp_path / "in").mkdir()
    cuts.to_shar(tmp_path / "in", fields={"recording": "flac"}, shard_size=3)  # 3 shards: 3, 3, 2 cuts
    out = tmp_path / "out"
    assert main(["tokenize", str(tmp_path / "in"), "--model", str(seanet_dir), "--threads", "1",
                 "--out", str(out), "--shards", "shar,parquet", "--jobs", "1"]) == 0  # fmt: skip
    shards = ShardSet(out, format="shar")
    assert shards.plan["n_shards"] == 3 and not list((out / "shar").glob("cuts.*"))  # the input's cuts are reused
    _same(shards, reference)
    _same(ShardSet(out, format="parquet"), reference)
    got = list(CutSet.from_shar(fields=shards.shar_fields()))
    assert [c.id for c in got] == GOOD
    ref = reference[GOOD[4]].codes
    assert torch.equal(torch.from_numpy(got[4].load_codes()).long(), torch.stack(ref, 1))  # (frames, levels)
    assert got[4].load_audio().shape[-1] == got[4].num_samples  # the input's own fields come along


def test_folder_input(corpus, seanet_dir, tmp_path):
    (tmp_path / "wav").mkdir()
    for name in ("utt00.wav", "utt01.wav"):
        (tmp_path / "wav" / name).write_bytes((corpus.parent / "wav" / name).read_bytes())
    assert main(["tokenize", str(tmp_path / "wav"), "--model", str(seanet_dir), "--threads", "1",
                 "--out", str(tmp_path / "out"), "--shards", "parquet"]) == 0  # fmt: skip
    assert [u for u, _ in ShardSet(tmp_path / "out")] == ["utt00", "utt01"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--shards", "webdataset"], "--shards takes shar / parquet or both comma-separated, got 'webdataset'"),
        (["--shards", "shar", "--layout", "orpheus"], "--layout fills Parquet's input_ids column"),
        (["--shards", "parquet", "--layout", "orpheus"], "--layout orpheus carries 3 levels at rate ratios (1, 2, 4)"),
        (["--shards", "parquet", "--job", "3", "--num-jobs", "2"], "--job 3 is outside 1..2 (--num-jobs)"),
        (["--shards", "parquet", "--job", "1"], "--job and --num-jobs go together"),
        (["--job", "1", "--num-jobs", "2"], "need --shards"),
        (["--shards", "parquet", "--shard-size", "0"], "--shard-size must be >= 1, got 0"),
    ],
)
def test_bad_options_fail_with_one_line(corpus, seanet_dir, tmp_path, capsys, extra, message):
    rc = main(["tokenize", str(corpus), "--model", str(seanet_dir), "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err


def test_batched_forward_passes_agree_with_per_file_up_to_rounding(corpus, seanet_dir, reference, tmp_path):
    """--max-batch 8: utterances of one padded length share a forward pass (the GPU default); their codes have the
    per-file frame counts and agree with them up to float rounding (a rare code at a decision boundary may flip)."""
    assert main(["tokenize", str(corpus), "--model", str(seanet_dir), "--threads", "1", "--out", str(tmp_path),
                 "--shards", "parquet", "--max-batch", "8"]) == 0  # fmt: skip
    same = total = 0
    for utt, codes in ShardSet(tmp_path):
        ref = reference[utt].codes
        assert [c.shape for c in codes] == [c.shape for c in ref], utt
        same += sum(int((a == b).sum()) for a, b in zip(codes, ref))
        total += sum(c.numel() for c in ref)
    assert same >= 0.99 * total
