"""The synthetic corpus: the speaker table's splits, and a tiny corpus made with the real TTS engines."""

from __future__ import annotations

import os

import pytest
import soundfile as sf

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import read_scp
from codeckit.corpus.synth import SIZES, CorpusSize, plan, split_sentences, synthesize
from codeckit.corpus.voices import SPEAKERS, Speaker, check_available, speakers


def _base(s: Speaker) -> tuple[str, ...]:
    """What makes a voice: engine and voice; for espeak also its accent and its variant on their own."""
    if s.engine == "espeak":
        accent, _, variant = s.voice.partition("+")
        return (accent, variant)
    return (f"{s.engine}:{s.voice}",)


def test_test_voices_are_unseen_in_training():
    train = {part for s in SPEAKERS["train"] for part in _base(s)}
    for s in SPEAKERS["test"]:
        assert not set(_base(s)) & train, s
    ids = [s.id for split in SPEAKERS.values() for s in split]
    assert len(ids) == len(set(ids))
    assert all("_" not in i and " " not in i for i in ids)
    assert (
        {s.engine for s in SPEAKERS["train"]} == {s.engine for s in SPEAKERS["test"]} == {"espeak", "flite", "festival"}
    )


def test_every_voice_is_installed():
    check_available([s for split in SPEAKERS.values() for s in split])


def test_missing_voices_are_named():
    with pytest.raises(CorpusError, match="espeak-ng has no voice 'en-us\\+nosuch'"):
        check_available([Speaker("espeak", "en-us+nosuch")])
    with pytest.raises(CorpusError, match="flite has no voice 'nosuch'"):
        check_available([Speaker("flite", "nosuch")])
    with pytest.raises(CorpusError, match="festival voice 'nosuch' not found"):
        check_available([Speaker("festival", "nosuch")])
    with pytest.raises(CorpusError, match="unknown TTS engine"):
        speakers("train", ("mbrola",))


def test_splits_share_no_sentence_and_small_is_a_subset_of_full():
    pool = [f"Sentence number {i}." for i in range(4400)]
    full = split_sentences(pool, SIZES["full"])
    small = split_sentences(pool, SIZES["small"])
    texts = {k: {t for _, t in v} for k, v in full.items()}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"] and not texts["dev"] & texts["test"]
    assert sum(len(v) for v in texts.values()) >= 2000
    for split in small:
        assert set(small[split]) <= set(full[split])


def test_plan_deals_speakers_of_each_split():
    jobs = plan(CorpusSize(train=40, dev=4, test=8, train_repeats=2), source="grammar")
    assert len(jobs) == 40 * 2 + 4 + 8
    for j in jobs:
        assert j.speaker in SPEAKERS[j.split]
        assert j.utt.startswith(j.speaker.id + "_")
    train = [j for j in jobs if j.split == "train"]
    assert len({j.text for j in train}) == 40 and len({j.utt for j in train}) == 80


def test_tiny_corpus_end_to_end(tmp_path):
    out = tmp_path / "corpus"
    # test=8 gives every test speaker (espeak, flite awb, festival ked) one utterance
    size = CorpusSize(train=3, dev=1, test=8)
    synthesize(out, size, source="grammar", rates=(16000, 24000), jobs=2, progress=False)
    train_text = set(read_scp(out / "16k/train/text").values())
    for rate, folder in ((16000, "16k"), (24000, "24k")):
        for split, n in (("train", 3), ("dev", 1), ("test", 8)):
            d = out / folder / split
            wav = read_scp(d / "wav.scp")
            assert len(wav) == n
            assert set(read_scp(d / "utt2spk")) == set(wav)
            for utt, path in wav.items():
                info = sf.info(path)
                assert info.samplerate == rate and info.channels == 1
                assert 0.5 < info.duration < 15
                assert abs(float(read_scp(d / "utt2dur")[utt]) - info.duration) < 0.01
                audio, _ = sf.read(path)
                assert 0.3 < abs(audio).max() <= 1.0  # peak-normalised speech, not silence
    test_text = set(read_scp(out / "16k/test/text").values())
    assert not test_text & train_text
    assert "| test | 8 | 8 |" in (out / "README.md").read_text()
    assert (out / "speakers.tsv").read_text().count("\ttest\t") == len(SPEAKERS["test"])

    # a second run is cached: no wav is written again
    wavs = sorted(out.glob("*/wav/*/*.wav"))
    stamps = {p: os.stat(p).st_mtime_ns for p in wavs}
    synthesize(out, size, source="grammar", rates=(16000, 24000), jobs=2, progress=False)
    assert {p: os.stat(p).st_mtime_ns for p in wavs} == stamps

    # other settings in the same folder are refused rather than mixed
    with pytest.raises(CorpusError, match="made with other settings"):
        synthesize(out, size, source="grammar", seed=5, progress=False)


def test_cli_synth(tmp_path, capsys):
    from codeckit.cli import main

    out = tmp_path / "c"
    args = ["corpus", "synth", "--out", str(out), "--train", "1", "--dev", "1", "--test", "1"]
    assert main([*args, "--engines", "espeak", "--rates", "16000", "--text", "grammar", "--no-progress"]) == 0
    assert f"corpus ready: {out}" in capsys.readouterr().out
    assert len(read_scp(out / "16k/test/wav.scp")) == 1 and not (out / "24k").exists()
    assert main([*args[:3], str(tmp_path / "d"), "--train", "0", "--text", "grammar"]) == 2
    assert "every split needs at least one sentence" in capsys.readouterr().err
