"""Kaldi data directories: writing, reading, checks, subsets."""

from __future__ import annotations

import pytest

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import Utterance, read_scp, subset_data_dir, write_data_dir


def _utts(n: int, spk: str = "s1") -> list[Utterance]:
    return [Utterance(f"{spk}_{i:03d}", spk, f"/a/{spk}_{i:03d}.wav", f"text {i}", 1.5) for i in range(n)]


def test_write_and_read_back(tmp_path):
    d = write_data_dir(tmp_path / "d", list(reversed(_utts(3))) + _utts(2, "s2"))
    wav = read_scp(d / "wav.scp")
    assert list(wav) == ["s1_000", "s1_001", "s1_002", "s2_000", "s2_001"]  # sorted
    assert wav["s2_001"] == "/a/s2_001.wav"
    assert read_scp(d / "text")["s1_002"] == "text 2"
    assert (d / "spk2utt").read_text() == "s1 s1_000 s1_001 s1_002\ns2 s2_000 s2_001\n"
    assert read_scp(d / "utt2dur")["s1_000"] == "1.500"


@pytest.mark.parametrize(
    "utts, message",
    [
        ([Utterance("s1_1", "s1", "/a b.wav")], "contains whitespace"),
        ([Utterance("s1_1", "s1", "/a.wav"), Utterance("s1_1", "s1", "/b.wav")], "duplicate utterance id 's1_1'"),
        ([Utterance("x_1", "s1", "/a.wav")], "does not start with its speaker id"),
        ([], "no utterances"),
    ],
)
def test_bad_entries_are_refused(tmp_path, utts, message):
    with pytest.raises(CorpusError, match=message):
        write_data_dir(tmp_path / "d", utts)


def test_read_scp_errors(tmp_path):
    p = tmp_path / "wav.scp"
    p.write_text("a /x.wav\nlonely\n")
    with pytest.raises(CorpusError, match="wav.scp:2: expected"):
        read_scp(p)
    with pytest.raises(CorpusError, match="not found"):
        read_scp(tmp_path / "none.scp")


def test_subset_is_evenly_spaced_across_speakers(tmp_path):
    src = write_data_dir(tmp_path / "all", _utts(10, "s1") + _utts(10, "s2"))
    sub = subset_data_dir(src, tmp_path / "sub", 4)
    ids = list(read_scp(sub / "wav.scp"))
    assert ids == ["s1_000", "s1_005", "s2_000", "s2_005"]
    assert read_scp(sub / "text")["s2_005"] == "text 5"
    assert len(read_scp(subset_data_dir(src, tmp_path / "big", 100) / "wav.scp")) == 20
