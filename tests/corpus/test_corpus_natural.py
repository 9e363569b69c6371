"""The natural corpus: other languages' recorded festival voices, their sentences, and the recording chain."""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from codeckit.corpus import augment as aug
from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import read_scp
from codeckit.corpus.synth import CorpusSize, Job, make_utterance, plan, synthesize, unwrap_overflow
from codeckit.corpus.text import (
    LANGUAGES,
    clean_sentence_in,
    language_sentences,
    load_language_sentences,
    load_sentences,
)
from codeckit.corpus.voices import (
    OTHER_LANGUAGE_SPEAKERS,
    SPEAKERS,
    Speaker,
    check_available,
    check_unseen,
    speaker_table,
    speakers,
)

SR = aug.AUGMENT_RATE
OTHER_LANGUAGES = sorted({s.lang for split in OTHER_LANGUAGE_SPEAKERS.values() for s in split} - {"en"})
MBROLA_SPEAKERS = [s for s in OTHER_LANGUAGE_SPEAKERS["train"] if s.voice.startswith("mb-")]


def _need_festival_voice(s: Speaker) -> None:
    """Skip the test, naming the missing program or Debian package, when `s` cannot speak here."""
    if shutil.which("text2wave") is None:
        pytest.skip("'text2wave' not found (Debian package 'festival')")
    if shutil.which("sox") is None:
        pytest.skip("'sox' not found (Debian package 'sox')")
    try:
        check_available([s])
    except CorpusError as e:
        pytest.skip(str(e))


def _sentences(lang: str) -> list[str]:
    try:
        return load_sentences("grammar", 5) if lang == "en" else language_sentences(lang)
    except CorpusError as e:
        pytest.skip(str(e))


# --- voices and splits --------------------------------------------------------------------------


def test_test_voices_stay_unseen_in_every_voice_set():
    for voices in ("english", "all"):
        table = speaker_table(voices)
        check_unseen(table)
        train = {b for s in table["train"] for b in s.base()}
        for s in table["test"]:
            assert not s.base() & train, s
        ids = [s.id for split in table.values() for s in split]
        assert len(ids) == len(set(ids)) and all("_" not in i and " " not in i for i in ids)
    assert speaker_table("english") == SPEAKERS
    # one person behind several voices counts once: NSK speaks Hindi, Marathi and Telugu
    nsk = {s.base() for s in OTHER_LANGUAGE_SPEAKERS["train"] if "NSK" in s.voice}
    assert nsk == {frozenset({"nsk"})}


def test_a_test_speaker_seen_in_train_is_refused():
    table = {"train": [Speaker("festival", "telugu_NSK_diphone", lang="te")], "dev": [], "test": []}
    table["test"] = [Speaker("festival", "hindi_NSK_diphone", 200, 1.0, "hi")]
    with pytest.raises(CorpusError, match="shares nsk with train"):
        check_unseen(table)
    table["test"] = [Speaker("espeak", "en-029+m1")]  # m1 is a train variant
    table["train"] = SPEAKERS["train"]
    with pytest.raises(CorpusError, match=r"espeak\+m1"):
        check_unseen(table)


def test_bad_option_values_raise_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="unknown voice set 'klingon'"):
        speakers("train", voices="klingon")
    with pytest.raises(CorpusError, match="unknown voice set"):
        synthesize(tmp_path / "c", CorpusSize(1, 1, 1), source="grammar", voices="klingon", progress=False)
    for bad in (1.5, -0.1, "often"):
        with pytest.raises(CorpusError, match="augmentation probability"):
            synthesize(tmp_path / "c", CorpusSize(1, 1, 1), source="grammar", augment=bad, progress=False)
    with pytest.raises(CorpusError, match="unknown language 'xx'"):
        language_sentences("xx")
    assert not (tmp_path / "c").exists()  # refused before anything is written


def test_cli_rejects_bad_values(tmp_path, capsys):
    from codeckit.cli import main

    args = ["corpus", "synth", "--out", str(tmp_path / "c"), "--text", "grammar", "--no-progress"]
    assert main([*args, "--augment", "2"]) == 2
    assert "augmentation probability must be in [0, 1]" in capsys.readouterr().err
    assert main([*args, "--voices", "every"]) == 2
    assert "unknown voice set 'every' (known: english, all)" in capsys.readouterr().err


# --- sentences ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_each_language_has_clean_sentences_its_voices_can_read(lang):
    sentences = _sentences(lang)
    assert len(sentences) >= 25
    spec = LANGUAGES[lang]
    for s in sentences:
        s.encode(spec.encoding)  # festival's voices of the language read this encoding
        letters = [c for c in s if c.isalpha()]
        assert letters and all(unicodedata.name(c).startswith(spec.script) for c in letters), s
        assert not any(c.isdigit() for c in s), s
    assert load_language_sentences(lang, 3) == load_language_sentences(lang, 3) != load_language_sentences(lang, 4)


def test_sentence_filter():
    assert (
        clean_sentence_in("Что естественно, то не постыдно.\n\t\t-- Сенека", "ru") == "Что естественно, то не постыдно."
    )
    assert clean_sentence_in("На одном винте есть место, а на дрyгом нет.", "ru") is None  # a Latin 'y'
    assert clean_sentence_in("Так нежно смотрит Аспирантка С.Петрова.", "ru") is None  # festival fails on "С.Петрова"
    assert clean_sentence_in("Il cervello è un organo favoloso.", "it") == "Il cervello è un organo favoloso."
    assert clean_sentence_in("Il 2 gennaio è un giorno favoloso.", "it") is None
    assert clean_sentence_in("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cs") is not None
    assert clean_sentence_in("Příliš žluťoučký kůň úpěl ďábelské ódy.", "it") is None  # not in ISO-8859-1


# --- planning -----------------------------------------------------------------------------------


def test_plan_all_adds_other_languages_after_the_unchanged_english_part():
    size = CorpusSize(train=60, dev=4, test=8, train_repeats=2)
    english = plan(size, source="grammar")
    try:
        jobs = plan(size, source="grammar", voices="all")
    except CorpusError as e:
        pytest.skip(str(e))
    assert jobs[: len(english)] == english
    assert len({j.utt for j in jobs}) == len(jobs)
    others = jobs[len(english) :]
    table = speaker_table("all")
    for j in others:
        assert j.speaker in table[j.split] and (j.speaker.lang != "en" or j.speaker in MBROLA_SPEAKERS)
        assert j.utt.startswith(j.speaker.id + "_")
    for lang in {j.speaker.lang for j in others}:
        texts = {split: {j.text for j in jobs if j.speaker.lang == lang and j.split == split} for split in table}
        assert not texts["train"] & texts["test"] and not texts["train"] & texts["dev"]
    # the English MBROLA voices read the English corpus's own train sentences
    english_train = {j.text for j in english if j.split == "train"}
    assert {j.text for j in others if j.speaker.lang == "en"} <= english_train
    assert Counter((j.speaker, j.text) for j in others).most_common(1)[0][1] == 1  # no speaker reads twice
    # about as many utterances per speaker as an English train speaker (60 x 2 / 30 = 4), or all sentences
    per_speaker = Counter(j.speaker for j in others if j.split == "train")
    assert set(per_speaker) == set(OTHER_LANGUAGE_SPEAKERS["train"])
    assert all(3 <= n <= 5 for n in per_speaker.values()), per_speaker


# --- augmentation -------------------------------------------------------------------------------


def test_augmentation_settings_are_seeded_per_utterance():
    assert aug.draw("spk_00001", 0, 0.8) == aug.draw("spk_00001", 0, 0.8)
    draws = [aug.draw(f"spk_{i:05d}", 0, 0.8) for i in range(2000)]
    assert draws != [aug.draw(f"spk_{i:05d}", 1, 0.8) for i in range(2000)]
    clean = sum(d is None for d in draws) / len(draws)
    assert 0.17 < clean < 0.23  # p = 0.8: a fifth stay clean
    chains = [d for d in draws if d is not None]
    assert 0.45 < np.mean([d.rt60 is not None for d in chains]) < 0.55
    assert 0.75 < np.mean([bool(d.eq) for d in chains]) < 0.85
    assert 0.55 < np.mean([d.snr_db is not None for d in chains]) < 0.65
    for d in chains:
        assert d.rt60 is None or 0.15 <= d.rt60 <= 0.6
        assert d.snr_db is None or 30 <= d.snr_db <= 50
        assert -20 <= d.peak_dbfs <= -1
    assert all(aug.draw(f"u{i}", 0, 0.0) is None for i in range(100))
    assert all(aug.draw(f"u{i}", 0, 1.0) is not None for i in range(100))
    # an utterance augmented at p = 0.5 gets the same chain at p = 0.8
    half = {i: aug.draw(f"spk_{i:05d}", 0, 0.5) for i in range(200)}
    assert all(draws[i] == r for i, r in half.items() if r is not None)


def test_apply_is_deterministic_and_sets_the_level():
    x = np.random.default_rng(0).standard_normal(SR) * 0.1
    rec = aug.Recording(0.3, 6.0, (aug.Biquad("peak", 1000, 4, 1),), 35.0, 1.0, -12.0)
    a, b = aug.apply(x, SR, rec, "u1", 0), aug.apply(x, SR, rec, "u1", 0)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, aug.apply(x, SR, rec, "u1", 1))  # other noise and RIR
    assert 20 * np.log10(np.abs(a).max()) == pytest.approx(-12.0, abs=1e-6)


def _decay_time(rir: np.ndarray, sr: int) -> float:
    """RT60 from the Schroeder backward integral's -5 to -25 dB slope (T20 x 3)."""
    edc = 10 * np.log10(np.cumsum(rir[::-1] ** 2)[::-1] / np.sum(rir**2))
    t5, t25 = np.argmax(edc <= -5), np.argmax(edc <= -25)
    return 3 * (t25 - t5) / sr


@pytest.mark.parametrize("rt60", [0.15, 0.3, 0.6])
def test_reverb_lengthens_the_decay_by_its_rt60(rt60):
    rng = np.random.default_rng(0)
    rir = aug.room_impulse_response(rt60, 6.0, SR, rng)
    assert rir[0] == 1.0 and len(rir) == round(rt60 * SR)
    assert _decay_time(rir[1:], SR) == pytest.approx(rt60, rel=0.05)
    assert 10 * np.log10(1.0 / np.sum(rir[1:] ** 2)) == pytest.approx(6.0, abs=1e-6)  # direct-to-reverberant ratio
    burst = np.zeros(SR)
    burst[: SR // 10] = rng.standard_normal(SR // 10)  # 0.1 s of noise, then silence
    wet = aug.reverberate(burst, rir)
    assert len(wet) == len(burst) + len(rir) - 1
    after = slice(SR // 10 + int(0.05 * SR), SR // 10 + int(0.1 * SR))  # 50-100 ms after the burst ends
    level = 10 * np.log10(np.mean(wet[after] ** 2) / np.mean(wet[: SR // 10] ** 2))
    # the tail's power there: the RIR energy falls as exp(-c t), c = 6 ln(10) / rt60, and the burst fed
    # it for 0.1 s; it starts 6 dB below the direct path, which carries 1 / (1 + 10^-0.6) of the burst's power
    c = 6 * np.log(10) / rt60
    window = (np.exp(-0.05 * c) - np.exp(-0.1 * c)) / (0.05 * c) * (1 - np.exp(-0.1 * c))
    expected = 10 * np.log10(window) - 6.0 - 10 * np.log10(1 + 10**-0.6)
    assert level == pytest.approx(expected, abs=3.0)
    assert np.all(burst[after] == 0)


@pytest.mark.parametrize("snr", [30.0, 40.0, 50.0])
@pytest.mark.parametrize("slope", [0.0, 1.0, 2.0])
def test_noise_is_added_at_the_requested_snr(snr, slope):
    x = np.sin(2 * np.pi * 220 * np.arange(SR) / SR) * 0.3
    y = aug.add_noise(x, snr, slope, SR, np.random.default_rng(1))
    measured = 10 * np.log10(np.mean(x**2) / np.mean((y - x) ** 2))
    assert measured == pytest.approx(snr, abs=1.0)


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return 10 * np.log10(np.mean(spec[(f >= lo) & (f < hi)]))


def test_noise_colour_follows_its_slope():
    white = aug.coloured_noise(4 * SR, 0.0, SR, np.random.default_rng(0))
    brown = aug.coloured_noise(4 * SR, 2.0, SR, np.random.default_rng(0))
    assert abs(_band_db(white, 100, 200) - _band_db(white, 3200, 6400)) < 1.0
    # power ~ 1/f^2: five octaves (100-200 Hz vs 3.2-6.4 kHz) are 30 dB apart
    assert _band_db(brown, 100, 200) - _band_db(brown, 3200, 6400) == pytest.approx(30.0, abs=2.0)


def test_eq_changes_the_spectrum_where_it_says():
    x = np.random.default_rng(0).standard_normal(4 * SR)

    def gain(eq: tuple[aug.Biquad, ...], lo: float, hi: float) -> float:
        return _band_db(aug.equalize(x, SR, eq), lo, hi) - _band_db(x, lo, hi)

    peak = (aug.Biquad("peak", 1000, 6.0, 2.0),)
    assert gain(peak, 980, 1020) == pytest.approx(6.0, abs=0.7)
    assert abs(gain(peak, 8000, 12000)) < 0.3 and abs(gain(peak, 50, 100)) < 0.3
    high = (aug.Biquad("highshelf", 3000, -6.0),)
    assert gain(high, 12000, 20000) == pytest.approx(-6.0, abs=0.5) and abs(gain(high, 100, 300)) < 0.3
    low = (aug.Biquad("lowshelf", 200, 4.0),)
    assert gain(low, 20, 60) == pytest.approx(4.0, abs=0.5) and abs(gain(low, 4000, 8000)) < 0.3
    hp = (aug.Biquad("highpass", 120),)
    assert gain(hp, 20, 40) < -15 and abs(gain(hp, 1000, 4000)) < 0.3
    assert np.array_equal(aug.equalize(x, SR, ()), x)
    with pytest.raises(CorpusError, match="unknown EQ filter 'notch'"):
        aug.equalize(x, SR, (aug.Biquad("notch", 1000),))


# --- synthesis ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "speaker",
    [s for s in OTHER_LANGUAGE_SPEAKERS["train"] + OTHER_LANGUAGE_SPEAKERS["test"] if s.pitch == 0],
    ids=lambda s: s.id,
)
def test_each_new_voice_speaks_its_language(tmp_path, speaker):
    _need_festival_voice(speaker)
    text = _sentences(speaker.lang)[0]
    make_utterance(Job(f"{speaker.id}_00000", speaker, text, "train"), tmp_path, (16000,))
    audio, sr = sf.read(tmp_path / "16k" / "wav" / speaker.id / f"{speaker.id}_00000.wav")
    assert sr == 16000 and 0.2 * len(text.split()) < len(audio) / sr < 15  # MBROLA voices speak ~4 words/s
    # clean: peak-normalised to -3 dBFS at the engine's rate; resampling a 22-44 kHz voice moves its peak
    assert -12.0 < 20 * np.log10(np.abs(audio).max()) < -2.0
    assert np.abs(np.diff(audio)).max() < 1.0  # no 16-bit wrap-around clicks (the Italian voices overflow)


def test_mbrola_voices_are_recorded_speakers_that_train_only():
    assert {s.lang for s in MBROLA_SPEAKERS} == {"en", "de", "es", "pt", "pl"} and len(MBROLA_SPEAKERS) == 21
    assert all(s.engine == "espeak" and s.pitch == 0 and s.tempo == 1.0 for s in MBROLA_SPEAKERS)
    assert not any(s.voice.startswith("mb-") for split in ("dev", "test") for s in speaker_table("all")[split])
    assert len({s.base() for s in MBROLA_SPEAKERS}) == 21  # each its own person


def test_a_missing_mbrola_voice_names_its_package(tmp_path, monkeypatch):
    import codeckit.corpus.voices as voices

    if shutil.which("mbrola") is None:
        with pytest.raises(CorpusError, match="install the Debian package 'mbrola'"):
            check_available([MBROLA_SPEAKERS[0]])
        return
    monkeypatch.setattr(voices, "MBROLA_DIR", tmp_path)
    missing = r"MBROLA voice 'us1' not found in .*: install the Debian package 'mbrola-us1'"
    with pytest.raises(CorpusError, match=missing):
        check_available([Speaker("espeak", "mb-us1")])


def test_wrapped_samples_are_unwrapped(tmp_path):
    t = np.arange(1600) / 16000
    loud = 1.4 * np.sin(2 * np.pi * 200 * t)  # 3 dB over full scale
    wrapped = ((np.round(loud * 32768).astype(np.int64) + 32768) % 65536 - 32768).astype(np.int16)
    sf.write(tmp_path / "raw.wav", wrapped, 16000, subtype="PCM_16")
    assert unwrap_overflow(tmp_path / "raw.wav")
    fixed, _ = sf.read(tmp_path / "raw.wav")
    np.testing.assert_allclose(fixed, loud * 0.99 / np.abs(loud).max(), atol=1e-4)
    sf.write(tmp_path / "ok.wav", (0.5 * np.sin(2 * np.pi * 200 * t) * 32767).astype(np.int16), 16000)
    before = (tmp_path / "ok.wav").read_bytes()
    assert not unwrap_overflow(tmp_path / "ok.wav") and (tmp_path / "ok.wav").read_bytes() == before


def test_an_augmented_utterance_is_reproducible_and_differs_from_the_clean_one(tmp_path):
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("'espeak-ng' or 'sox' not found (Debian packages 'espeak-ng', 'sox')")
    job = Job("espeak-enusm1_00001", Speaker("espeak", "en-us+m1"), "The small red boat sailed away.", "train")
    wavs = {}
    for name, p in (("clean", 0.0), ("a", 1.0), ("b", 1.0)):
        make_utterance(job, tmp_path / name, (16000, 24000), augment=p, seed=5)
        wavs[name] = {
            r: sf.read(tmp_path / name / r / "wav" / job.speaker.id / f"{job.utt}.wav") for r in ("16k", "24k")
        }
    rec = aug.draw(job.utt, 5, 1.0)  # seed 5 gives this utterance every effect
    assert rec.rt60 and rec.eq and rec.snr_db
    for r, rate in (("16k", 16000), ("24k", 24000)):
        (clean, _), (a, sr), (b, _) = wavs["clean"][r], wavs["a"][r], wavs["b"][r]
        assert sr == rate and np.array_equal(a, b)
        assert 20 * np.log10(np.abs(a).max()) == pytest.approx(rec.peak_dbfs, abs=1.0)
        tail = len(a) - len(clean)
        assert tail == pytest.approx(round((rec.rt60 or 0) * rate), abs=2)  # reverb keeps its whole decay


def test_tiny_natural_corpus(tmp_path):
    for s in [*OTHER_LANGUAGE_SPEAKERS["train"], *OTHER_LANGUAGE_SPEAKERS["test"]]:
        _need_festival_voice(s)
    out = tmp_path / "natural"
    # festival only: 6 English train speakers read 1 sentence, so each other language gets 1 or 2 utterances
    size = CorpusSize(train=1, dev=1, test=1)
    synthesize(
        out, size, source="grammar", rates=(16000,), engines=("festival",), progress=False, voices="all", augment=0.8
    )
    readme = (out / "README.md").read_text()
    assert "multilingual" in readme and "| Czech | test | 1 | 1 | 1 |" in readme and "Recording chain: clean" in readme
    assert '"voices": "all"' in (out / "settings.json").read_text()
    train_spk = set(read_scp(out / "16k/train/utt2spk").values())
    test_spk = set(read_scp(out / "16k/test/utt2spk").values())
    assert {"fest-czechmachac", "fest-hyfimv"} <= test_spk and not train_spk & test_spk
    assert {"fest-pc", "fest-msurunshclunits", "fest-upccaonahts", "fest-hindiNSK"} & train_spk
    chains = (out / "augment.tsv").read_text().splitlines()[1:]
    n = sum(len(read_scp(out / "16k" / split / "wav.scp")) for split in ("train", "dev", "test"))
    assert 0 < len(chains) < n
    with pytest.raises(CorpusError, match="made with other settings"):
        synthesize(out, size, source="grammar", rates=(16000,), engines=("festival",), progress=False)
