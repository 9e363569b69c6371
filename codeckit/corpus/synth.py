"""Make the synthetic multi-speaker corpus: plan utterances, speak them in parallel, write lists.

Two kinds, chosen by the voice set and the augmentation probability (both in settings.json):
- `english` voices, no augmentation (the default, as made since version 1): English espeak-ng,
  flite and festival voices, trimmed and peak-normalised to -3 dBFS;
- `natural` in the recipe (`--voices all --augment 0.8`): every Debian festival voice built from a
  real speaker's recordings too, each in its own language, and 80% of the utterances put through a
  random recording chain (room reverb, microphone EQ, background noise, level; see augment.py).

Layout of the output directory OUT:

    OUT/settings.json                 what decides the audio (text source, seed, version, voices, augment)
    OUT/README.md                     what is in it: splits, speakers, languages, sentences, hours
    OUT/speakers.tsv                  speaker id, split, engine, voice, pitch (cents), tempo, language
    OUT/augment.tsv                   (augmented corpora) each augmented utterance's recording chain
    OUT/<rate>/wav/<spk>/<utt>.wav    16-bit mono wavs, one tree per rate (16k/, 24k/)
    OUT/<rate>/{train,dev,test}/      Kaldi data dirs: wav.scp text utt2spk spk2utt utt2dur

Generation is cached per utterance: a wav that exists is complete (written atomically) and is
not made again, so a larger corpus reuses a smaller one made with the same settings.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from codeckit.corpus import augment as aug
from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import Utterance, write_data_dir
from codeckit.corpus.text import load_language_sentences, load_sentences
from codeckit.corpus.voices import (
    ENGINES,
    OTHER_LANGUAGE_SPEAKERS,
    Speaker,
    check_available,
    check_unseen,
    speaker_table,
    speakers,
)
from codeckit.fileio import write_text_atomic

log = logging.getLogger(__name__)

VERSION = 1  # bump when the audio made for the same settings changes
SPLITS = ("train", "dev", "test")
SENTENCE_POOL = 4400  # sentences drawn from the text source; every 20th goes to test, the next to dev


@dataclass(frozen=True)
class CorpusSize:
    """How many distinct sentences each split gets, and how many speakers read each train sentence."""

    train: int
    dev: int
    test: int
    train_repeats: int = 1

    def sentences(self) -> int:
        return self.train + self.dev + self.test


SIZES = {
    # The default recipe's corpus: about 15 minutes of training speech, made in about a minute.
    "small": CorpusSize(train=360, dev=16, test=24),
    # 2,500 distinct sentences, every train sentence read by two speakers (about 4 hours).
    "full": CorpusSize(train=2200, dev=150, test=150, train_repeats=2),
}


@dataclass(frozen=True)
class Job:
    """One utterance to make."""

    utt: str
    speaker: Speaker
    text: str
    split: str


def rate_dir(rate: int) -> str:
    """The folder name of one sample rate's tree: 16000 -> '16k', 22050 -> '22050'."""
    return f"{rate // 1000}k" if rate % 1000 == 0 else str(rate)


def deal_sentences(pool: list[str]) -> dict[str, list[tuple[int, str]]]:
    """The pool's (index, sentence) pairs dealt to splits by index: every 20th to test, the next to dev."""
    dealt: dict[str, list[tuple[int, str]]] = {s: [] for s in SPLITS}
    for i, s in enumerate(pool):
        dealt["test" if i % 20 == 0 else "dev" if i % 20 == 1 else "train"].append((i, s))
    return dealt


def split_sentences(pool: list[str], size: CorpusSize) -> dict[str, list[tuple[int, str]]]:
    """Deal the pool's sentences to splits by index (every 20th to test, the next to dev) and take each split's first n.

    The dealing does not depend on the size, so a small corpus is a subset of a full one.
    """
    dealt = deal_sentences(pool)
    out = {}
    for split in SPLITS:
        want = getattr(size, split)
        if len(dealt[split]) < want:
            raise CorpusError(f"the sentence pool gives {len(dealt[split])} {split} sentences, fewer than {want}")
        out[split] = dealt[split][:want]
    return out


def plan(
    size: CorpusSize,
    source: str = "fortunes",
    seed: int = 0,
    engines: tuple[str, ...] = ENGINES,
    voices: str = "english",
) -> list[Job]:
    """The utterances of a corpus: each split's sentences dealt round-robin to that split's speakers.

    The English part is the same for every voice set; `all` adds the other languages' jobs after it.
    """
    check_unseen(speaker_table(voices))
    jobs = _english_jobs(size, source, seed, engines)
    if voices == "all":
        jobs += _other_language_jobs(size, seed, engines)
    return jobs


def _english_jobs(size: CorpusSize, source: str, seed: int, engines: tuple[str, ...]) -> list[Job]:
    pool = load_sentences(source, SENTENCE_POOL, seed)
    by_split = split_sentences(pool, size)
    jobs = []
    for split in SPLITS:
        spk = speakers(split, engines)
        repeats = size.train_repeats if split == "train" else 1
        for k, (sid, text) in enumerate(by_split[split]):
            for r in range(repeats):
                s = spk[(k + r * (len(spk) // 2 + 1)) % len(spk)]
                jobs.append(Job(f"{s.id}_{sid:05d}", s, text, split))
    return jobs


def _other_language_jobs(size: CorpusSize, seed: int, engines: tuple[str, ...]) -> list[Job]:
    """Each language's jobs: as many per speaker as an English speaker of the split gets, from its own sentences.

    A language with few sentences (the built-in sets) re-reads them with other speakers, at most once per
    speaker, so it may get fewer; its pool is dealt to splits like the English one.
    """
    english = {split: len(speakers(split, engines)) for split in SPLITS}
    per_speaker = {
        "train": size.train * size.train_repeats / english["train"],
        "dev": size.dev / english["dev"],
        "test": size.test / english["test"],
    }
    table = {split: [s for s in OTHER_LANGUAGE_SPEAKERS[split] if s.engine in engines] for split in SPLITS}
    jobs = []
    for lang in sorted({s.lang for split in SPLITS for s in table[split]}):
        dealt = deal_sentences(load_language_sentences(lang, seed))
        for split in SPLITS:
            spk = [s for s in table[split] if s.lang == lang]
            if not spk:
                continue
            sentences = dealt[split]
            if not sentences:
                raise CorpusError(f"the {lang} sentences give no {split} sentence for its {split} speakers")
            n = min(max(1, round(per_speaker[split] * len(spk))), len(sentences) * len(spk))
            for u in range(n):
                k, r = u % len(sentences), u // len(sentences)
                s = spk[(k + r) % len(spk)]  # r < len(spk): a speaker reads a sentence once
                sid, text = sentences[k]
                jobs.append(Job(f"{s.id}_{sid:05d}", s, text, split))
    return jobs


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        err = (res.stderr or res.stdout).strip().splitlines()
        raise CorpusError(f"{what}: '{' '.join(cmd[:3])} ...' failed ({err[-1] if err else f'exit {res.returncode}'})")


def make_utterance(job: Job, out: Path, rates: tuple[int, ...], augment: float = 0.0, seed: int = 0) -> None:
    """Speak one job and write it at every rate (skipping rates whose wav exists).

    With probability `augment` (drawn per utterance from `seed`) it goes through a random recording chain.
    """
    targets = [out / rate_dir(r) / "wav" / job.speaker.id / f"{job.utt}.wav" for r in rates]
    if all(t.is_file() for t in targets):
        return
    recording = aug.draw(job.utt, seed, augment) if augment > 0 else None
    with tempfile.TemporaryDirectory(prefix="codeckit-synth-") as tmp:
        t = Path(tmp)
        (t / "text.txt").write_text(job.text + "\n", encoding=job.speaker.encoding)
        _run(job.speaker.tts_command(t / "text.txt", t / "raw.wav"), job.utt)
        if job.speaker.repairs_overflow:
            unwrap_overflow(t / "raw.wav")
        effects = []
        if job.speaker.pitch:
            effects += ["pitch", str(job.speaker.pitch)]
        if job.speaker.tempo != 1.0:
            effects += ["tempo", "-s", str(job.speaker.tempo)]
        # trim leading/trailing silence, keep 0.1 s pads, peak-normalise to -3 dBFS
        effects += ["silence", "1", "0.02", "-55d", "reverse", "silence", "1", "0.02", "-55d", "reverse"]
        effects += ["pad", "0.1", "0.1", "norm", "-3"]
        # -R: sox's dither (norm, rate) is seeded the same every time, so a corpus is made bit for bit again
        _run(["sox", "-R", "-q", str(t / "raw.wav"), "-c", "1", str(t / "proc.wav"), *effects], job.utt)
        if recording is not None:
            _write_augmented(t / "proc.wav", recording, job.utt, seed, rates, targets)
            return
        for rate, target in zip(rates, targets):
            if target.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            part = t / f"{rate}.wav"
            resample = ["sox", "-R", "-q", str(t / "proc.wav"), "-b", "16", "-r", str(rate), str(part), "rate", "-v"]
            _run(resample, job.utt)
            shutil.move(part, target.with_suffix(".wav.part"))
            os.replace(target.with_suffix(".wav.part"), target)


def unwrap_overflow(wav: Path) -> bool:
    """Undo 16-bit wrap-around in a TTS output, where a loud sample jumps from near +1 to near -1 (a click).

    Rewrites `wav` as float, scaled into [-1, 1], when it finds any and returns True. A jump of more than
    half the int16 range is taken as a wrap: speech at 16 kHz and above never changes that fast.
    """
    x, sr = sf.read(str(wav), dtype="int16")
    if x.ndim != 1 or len(x) < 2 or not np.any(np.abs(np.diff(x.astype(np.int64))) > 32768):
        return False
    y = np.unwrap(x.astype(np.float64), period=65536.0) / 32768.0
    sf.write(str(wav), y / max(1.0, np.abs(y).max() / 0.99), sr, subtype="FLOAT")
    return True


def _write_augmented(
    clean: Path, recording: aug.Recording, utt: str, seed: int, rates: tuple[int, ...], targets: list[Path]
) -> None:
    """Put the clean wav through its recording chain at AUGMENT_RATE and write it at every rate (16-bit, atomic)."""
    import soxr

    x, sr = sf.read(str(clean), dtype="float64")
    y = aug.apply(soxr.resample(x, sr, aug.AUGMENT_RATE, quality="VHQ"), aug.AUGMENT_RATE, recording, utt, seed)
    for rate, target in zip(rates, targets):
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        z = y if rate == aug.AUGMENT_RATE else soxr.resample(y, aug.AUGMENT_RATE, rate, quality="VHQ")
        part = target.with_suffix(".wav.part")
        sf.write(str(part), np.clip(z, -1.0, 32767 / 32768), rate, subtype="PCM_16", format="WAV")
        os.replace(part, target)


def _check_settings(out: Path, settings: dict) -> None:
    path = out / "settings.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old != settings:
            raise CorpusError(
                f"{out} holds a corpus made with other settings ({old}); use another output directory or remove it"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(settings, indent=2) + "\n")


def synthesize(
    out: str | os.PathLike,
    size: CorpusSize | str = "small",
    source: str = "fortunes",
    seed: int = 0,
    rates: tuple[int, ...] = (16000, 24000),
    engines: tuple[str, ...] = ENGINES,
    jobs: int = 2,
    progress: bool = True,
    voices: str = "english",
    augment: float = 0.0,
) -> Path:
    """Make (or complete) the corpus in `out`; returns `out`. Raises CorpusError naming a failed utterance.

    `voices`: 'english' or 'all' (see voices.py); `augment`: the probability that an utterance goes through
    a random recording chain (0 keeps every utterance clean, as the english corpus is).
    """
    from tqdm import tqdm

    out = Path(out)
    if isinstance(size, str):
        if size not in SIZES:
            raise CorpusError(f"unknown corpus size '{size}' (known: {', '.join(SIZES)})")
        size = SIZES[size]
    if not rates or any(r <= 0 for r in rates):
        raise CorpusError(f"sample rates must be positive, got {rates}")
    augment = aug.check_probability(augment)
    todo = plan(size, source, seed, engines, voices)
    check_available(sorted({j.speaker for j in todo}, key=lambda s: s.id))
    settings = {"version": VERSION, "text_source": source, "seed": seed}
    if voices != "english" or augment > 0:  # the english corpus keeps its settings.json of version 1
        settings.update(voices=voices, augment=augment)
    _check_settings(out, settings)
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(make_utterance, j, out, tuple(rates), augment, seed): j for j in todo}
        bar = tqdm(as_completed(futures), total=len(futures), desc="synth corpus", unit="utt", disable=not progress)
        for fut in bar:
            exc = fut.exception()
            if exc is not None:
                errors.append(str(exc))
    if errors:
        raise CorpusError(f"{len(errors)} of {len(todo)} utterances failed, first: {errors[0]}")
    for rate in rates:
        for split in SPLITS:
            utts = []
            for j in todo:
                if j.split != split:
                    continue
                wav = out / rate_dir(rate) / "wav" / j.speaker.id / f"{j.utt}.wav"
                utts.append(Utterance(j.utt, j.speaker.id, str(wav.resolve()), j.text, sf.info(str(wav)).duration))
            write_data_dir(out / rate_dir(rate) / split, utts)
    _write_speakers(out, engines, voices)
    recordings = {j.utt: aug.draw(j.utt, seed, augment) for j in todo} if augment > 0 else {}
    if recordings:
        _write_augment_table(out, todo, recordings)
    _write_readme(out, todo, size, source, seed, rates, voices, augment, recordings)
    log.info("corpus ready in %s (%d utterances)", out, len(todo))
    return out


def _write_speakers(out: Path, engines: tuple[str, ...], voices: str = "english") -> None:
    rows = ["speaker\tsplit\tengine\tvoice\tpitch_cents\ttempo\tlanguage"]
    for split in SPLITS:
        for s in speakers(split, engines, voices):
            rows.append(f"{s.id}\t{split}\t{s.engine}\t{s.voice}\t{s.pitch}\t{s.tempo}\t{s.lang}")
    write_text_atomic(out / "speakers.tsv", "\n".join(rows) + "\n")


def _write_augment_table(out: Path, todo: list[Job], recordings: dict[str, aug.Recording | None]) -> None:
    rows = ["utterance\tsplit\trecording_chain"]
    rows += [f"{j.utt}\t{j.split}\t{recordings[j.utt].describe()}" for j in todo if recordings[j.utt] is not None]
    write_text_atomic(out / "augment.tsv", "\n".join(rows) + "\n")


_LANGUAGE_NAMES = {
    "en": "English", "it": "Italian", "cs": "Czech", "ru": "Russian", "fi": "Finnish",
    "ca": "Catalan", "hi": "Hindi", "mr": "Marathi", "te": "Telugu",
}  # fmt: skip


def _durations(out: Path, rate: int) -> dict[str, float]:
    durations = {}
    for split in SPLITS:
        for line in (out / rate_dir(rate) / split / "utt2dur").read_text().splitlines():
            if line:
                utt, dur = line.split()
                durations[utt] = float(dur)
    return durations


def _write_readme(
    out: Path,
    todo: list[Job],
    size: CorpusSize,
    source: str,
    seed: int,
    rates: tuple[int, ...],
    voices: str = "english",
    augment: float = 0.0,
    recordings: dict[str, aug.Recording | None] | None = None,
) -> None:
    dur = _durations(out, rates[0])
    natural = voices == "all"
    lines = [
        "# synth_speech: a synthetic multi-speaker " + ("multilingual" if natural else "English") + " speech corpus",
        "",
        "Made offline by `codeckit corpus synth` with the TTS engines espeak-ng, flite and festival,",
        "plus sox pitch and tempo changes to turn one voice into several virtual speakers.",
        "Each utterance is trimmed of leading/trailing silence, padded by 0.1 s and peak-normalised to -3 dBFS.",
        "The engines speak at 16 kHz (flite, festival diphones), 22.05 kHz (espeak-ng) or 32 kHz",
        "(festival HTS), so the 24 kHz files carry no energy above the engine's own Nyquist frequency.",
    ]
    if natural:
        lines += [
            "Besides the English voices, every Debian festival voice built from a real speaker's recordings",
            "(Italian, Czech, Russian, Finnish, Catalan, Hindi, Marathi, Telugu) reads sentences of its own",
            "language: Debian's fortunes-it, fortunes-cs and fortunes-ru, or a small built-in set where Debian",
            "has no text (Finnish, Catalan, Hindi, Marathi, Telugu); those voices re-read their few sentences.",
        ]
    if augment > 0:
        lines += [
            f"With probability {augment:g} an utterance then goes through a random recording chain (room reverb,",
            "microphone EQ, background noise at 30-50 dB SNR, peak level -20..-1 dBFS); `augment.tsv` lists",
            "each one's settings, and the rest stay clean. The chain runs at 48 kHz, so its noise fills",
            "the whole band of every rate.",
        ]
    lines += [
        "",
        f"- text source: `{source}` (seed {seed}); test and dev sentences never occur in train",
        "- test speakers' base voices, espeak accents and variants never occur in train (see speakers.tsv)",
        f"- sample rates: {', '.join(str(r) for r in rates)} Hz, 16-bit mono wav, one tree per rate",
        f"- size: {size.train} train sentences x {size.train_repeats} speaker(s), {size.dev} dev, {size.test} test"
        + (" in English; another language's speaker gets as many utterances, or all its sentences" if natural else ""),
        "",
        "| split | utterances | speakers | distinct sentences | hours |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in SPLITS:
        jobs = [j for j in todo if j.split == split]
        hours = sum(dur[j.utt] for j in jobs) / 3600
        n_spk, n_text = len({j.speaker for j in jobs}), len({j.text for j in jobs})
        lines.append(f"| {split} | {len(jobs)} | {n_spk} | {n_text} | {hours:.3f} |")
    if natural:
        lines += ["", "| language | split | utterances | speakers | TTS voices | hours |"]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for lang in dict.fromkeys(j.speaker.lang for j in todo):
            for split in SPLITS:
                jobs = [j for j in todo if j.split == split and j.speaker.lang == lang]
                if jobs:
                    n_spk = len({j.speaker for j in jobs})
                    n_voices = len({(j.speaker.engine, j.speaker.voice) for j in jobs})
                    hours = sum(dur[j.utt] for j in jobs) / 3600
                    name = _LANGUAGE_NAMES.get(lang, lang)
                    lines.append(f"| {name} | {split} | {len(jobs)} | {n_spk} | {n_voices} | {hours:.3f} |")
    if recordings:
        n = len(todo)
        chains = [r for r in recordings.values() if r is not None]
        counts = {
            "clean": n - len(chains),
            "reverb": sum(r.rt60 is not None for r in chains),
            "EQ": sum(bool(r.eq) for r in chains),
            "noise": sum(r.snr_db is not None for r in chains),
        }
        lines += ["", "Recording chain: " + ", ".join(f"{k} {v} ({100 * v / n:.0f}%)" for k, v in counts.items()) + "."]
    lines += [
        "",
        "Files: `settings.json`, `speakers.tsv`, "
        + ("`augment.tsv`, " if recordings else "")
        + "and for each rate R: `R/wav/<speaker>/<utt>.wav` and the",
        "Kaldi data dirs `R/{train,dev,test}/` with `wav.scp`, `text`, `utt2spk`, `spk2utt`, `utt2dur`.",
        "",
    ]
    write_text_atomic(out / "README.md", "\n".join(lines))
