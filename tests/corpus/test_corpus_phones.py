"""Phone timings of the synthetic corpus: written beside a finished corpus without touching its audio, and
placed where the speech is for espeak-ng, festival and flite voices with sox pitch and tempo changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import read_scp
from codeckit.corpus.phones import Segment, corpus_jobs, make_phones, phone_file, read_phones, utterance_phones
from codeckit.corpus.planning import Job
from codeckit.corpus.synth import CorpusSize, make_utterance, synthesize
from codeckit.corpus.voices import Speaker

TEXT = "Please call Stella. Ask her to bring these things."


def _speech_end(path: Path) -> float:
    """Seconds to the end of the last 10 ms frame within 40 dB of the loudest one."""
    x, sr = sf.read(str(path))
    hop = sr // 100
    rms = np.sqrt(np.mean(x[: len(x) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (-40 / 20))[0]
    return (loud[-1] + 1) * hop / sr


def _check_segments(segs: list[Segment], wav: Path) -> None:
    """In order, not overlapping, inside the wav, and the last phone ends where the speech does."""
    duration = sf.info(str(wav)).duration
    assert segs[0].start >= 0 and segs[-1].start + segs[-1].dur <= duration + 1e-3
    for a, b in zip(segs, segs[1:]):
        assert b.start >= a.start + a.dur - 1e-3 and a.dur > 0
    spoken = [s for s in segs if s.phone != "sil"]
    assert len(spoken) >= 8
    assert abs(spoken[-1].start + spoken[-1].dur - _speech_end(wav)) < 0.06


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.wav"))}


def test_phones_added_to_a_finished_corpus(tmp_path):
    """A 3-utterance corpus made without phones gets them later; its audio and settings stay as they were."""
    out = tmp_path / "corpus"
    size = CorpusSize(train=1, dev=1, test=1, train_repeats=1)
    synthesize(out, size, source="grammar", rates=(16000, 24000), jobs=2, progress=False)
    before, settings = _digest(out), (out / "settings.json").read_text()
    assert not (out / "16k" / "train" / "phones").exists()
    synthesize(out, size, source="grammar", rates=(16000, 24000), jobs=2, progress=False, phones=True)
    assert _digest(out) == before and (out / "settings.json").read_text() == settings
    for split in ("train", "dev", "test"):
        d16, d24 = out / "16k" / split, out / "24k" / split
        assert (d16 / "phones").read_text() == (d24 / "phones").read_text()
        phones = read_phones(d16 / "phones")
        wavs = dict(line.split() for line in (d16 / "wav.scp").read_text().splitlines())
        assert list(phones) == list(wavs)  # one utterance per split, every one timed
        for utt, segs in phones.items():
            _check_segments(segs, Path(wavs[utt]))
            assert segs[0].phone == "sil" and segs[-1].phone == "sil"  # espeak-ng's '_' pauses
    # the jobs are found again from the finished corpus, and timing them again (writing nothing) agrees
    (job,) = corpus_jobs(out, out / "16k" / "test")
    again = utterance_phones(job, Path(read_scp(out / "16k" / "test" / "wav.scp")[job.utt]))
    cached = read_phones(out / "16k" / "test" / "phones")[job.utt]
    assert [s.phone for s in again] == [s.phone for s in cached]
    assert np.allclose([(s.start, s.dur) for s in again], [(s.start, s.dur) for s in cached], atol=1e-4)


@pytest.mark.parametrize(
    "speaker",
    [
        Speaker("festival", "kal_diphone", -250, 0.92),
        Speaker("flite", "slt", 250, 1.08),
        Speaker("espeak", "en-us+klatt", 0, 1.08),
    ],
    ids=lambda s: s.id,
)
def test_each_engine_times_its_phones(tmp_path, speaker):
    """Two sentences (festival and flite speak them as two utterances), pitch and tempo changed by sox."""
    job = Job(f"{speaker.id}_00000", speaker, TEXT, "train")
    make_utterance(job, tmp_path, (16000,))
    make_phones(job, tmp_path, 16000)
    lines = phone_file(tmp_path, job).read_text().splitlines()
    segs = [Segment(float(a), float(b), c) for a, b, c in (line.split() for line in lines)]
    _check_segments(segs, tmp_path / "16k" / "wav" / speaker.id / f"{job.utt}.wav")
    names = {s.phone for s in segs}
    assert "pau" not in names and "_" not in names  # silences are 'sil' in every phone set
    assert ("iy" in names) if speaker.engine != "espeak" else ("i:" in names)  # 'please': radio vs espeak phones


def test_bad_inputs_are_named(tmp_path):
    bad = tmp_path / "phones"
    bad.write_text("utt1 0.0 0.1 a\nutt1 0.1 x b\n")
    with pytest.raises(CorpusError, match="phones:2: expected 'UTT START DUR PHONE'"):
        read_phones(bad)
    with pytest.raises(CorpusError, match="phone list not found"):
        read_phones(tmp_path / "missing")
    job = Job("espeak-enus_00000", Speaker("espeak", "en-us"), TEXT, "train")
    with pytest.raises(CorpusError, match="no wav at"):
        make_phones(job, tmp_path, 16000)
    with pytest.raises(CorpusError, match="speakers.tsv not found"):
        corpus_jobs(tmp_path, tmp_path)
