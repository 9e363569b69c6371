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
    OUT/<rate>/{train,dev,test}/      Kaldi data dirs: wav.scp text utt2spk spk2utt utt2dur (phones: with phones=True)

Generation is cached per utterance: a wav that exists is complete (written atomically) and is
not made again, so a larger corpus reuses a smaller one made with the same settings.
What the corpus holds is planned in planning.py; its README is written by readme.py.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import soundfile as sf

from codeckit.corpus import augment as aug
from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import Utterance, write_data_dir
from codeckit.corpus.planning import (
    SENTENCE_POOL,
    SIZES,
    SPLITS,
    CorpusSize,
    Job,
    deal_sentences,
    plan,
    rate_dir,
    split_sentences,
)
from codeckit.corpus.readme import write_readme
from codeckit.corpus.voices import ENGINES, check_available, speakers
from codeckit.fileio import write_text_atomic

__all__ = [  # planning.py's names stay importable from here
    "SENTENCE_POOL", "SIZES", "SPLITS", "VERSION", "CorpusSize", "Job", "deal_sentences", "make_utterance", "plan",
    "rate_dir", "split_sentences", "synthesize", "unwrap_overflow",
]  # fmt: skip

log = logging.getLogger(__name__)

VERSION = 1  # bump when the audio made for the same settings changes


def _run(cmd: list[str], what: str) -> None:
    """Run `cmd`; a CorpusError naming `what` and the last line of the tool's output if it fails."""
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
    """Record `settings` in a new corpus; refuse to complete a corpus made with other settings."""
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
    phones: bool = False,
) -> Path:
    """Make (or complete) the corpus in `out`; returns `out`. Raises CorpusError naming a failed utterance.

    `voices`: 'english' or 'all' (see voices.py); `augment`: the probability that an utterance goes through
    a random recording chain (0 keeps every utterance clean, as the english corpus is). `phones`: also write
    each data dir's phone timings (`phones`, see phones.py; the audio is not changed, so a corpus gets them later).
    """
    out = Path(out)
    size = _corpus_size(size)
    if not rates or any(r <= 0 for r in rates):
        raise CorpusError(f"sample rates must be positive, got {rates}")
    augment = aug.check_probability(augment)
    todo = plan(size, source, seed, engines, voices)
    check_available(sorted({j.speaker for j in todo}, key=lambda s: s.id))
    settings = {"version": VERSION, "text_source": source, "seed": seed}
    if voices != "english" or augment > 0:  # the english corpus keeps its settings.json of version 1
        settings.update(voices=voices, augment=augment)
    _check_settings(out, settings)
    _make_all(todo, out, tuple(rates), augment, seed, jobs, progress)
    _write_lists(out, todo, rates)
    if phones:
        from codeckit.corpus.phones import write_phones

        write_phones(out, todo, tuple(rates), jobs, progress)
    _write_speakers(out, engines, voices)
    recordings = {j.utt: aug.draw(j.utt, seed, augment) for j in todo} if augment > 0 else {}
    if recordings:
        _write_augment_table(out, todo, recordings)
    write_readme(out, todo, size, source, seed, rates, voices, augment, recordings)
    log.info("corpus ready in %s (%d utterances)", out, len(todo))
    return out


def _corpus_size(size: CorpusSize | str) -> CorpusSize:
    """A size given by name (a key of SIZES) as its CorpusSize; a CorpusSize as it is."""
    if isinstance(size, str):
        if size not in SIZES:
            raise CorpusError(f"unknown corpus size '{size}' (known: {', '.join(SIZES)})")
        size = SIZES[size]
    return size


def _make_all(
    todo: list[Job], out: Path, rates: tuple[int, ...], augment: float, seed: int, jobs: int, progress: bool
) -> None:
    """Make every job's wavs on `jobs` threads; a CorpusError counting the failures and naming the first."""
    from tqdm import tqdm

    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(make_utterance, j, out, rates, augment, seed): j for j in todo}
        bar = tqdm(as_completed(futures), total=len(futures), desc="synth corpus", unit="utt", disable=not progress)
        for fut in bar:
            exc = fut.exception()
            if exc is not None:
                errors.append(str(exc))
    if errors:
        raise CorpusError(f"{len(errors)} of {len(todo)} utterances failed, first: {errors[0]}")


def _write_lists(out: Path, todo: list[Job], rates: tuple[int, ...]) -> None:
    """Each rate's Kaldi data dirs, one per split, with the durations of the wavs as written."""
    for rate in rates:
        for split in SPLITS:
            utts = []
            for j in todo:
                if j.split != split:
                    continue
                wav = out / rate_dir(rate) / "wav" / j.speaker.id / f"{j.utt}.wav"
                utts.append(Utterance(j.utt, j.speaker.id, str(wav.resolve()), j.text, sf.info(str(wav)).duration))
            write_data_dir(out / rate_dir(rate) / split, utts)


def _write_speakers(out: Path, engines: tuple[str, ...], voices: str = "english") -> None:
    """Write speakers.tsv: every speaker of the voice set, split by split."""
    rows = ["speaker\tsplit\tengine\tvoice\tpitch_cents\ttempo\tlanguage"]
    for split in SPLITS:
        for s in speakers(split, engines, voices):
            rows.append(f"{s.id}\t{split}\t{s.engine}\t{s.voice}\t{s.pitch}\t{s.tempo}\t{s.lang}")
    write_text_atomic(out / "speakers.tsv", "\n".join(rows) + "\n")


def _write_augment_table(out: Path, todo: list[Job], recordings: dict[str, aug.Recording | None]) -> None:
    """Write augment.tsv: the recording chain of each augmented utterance."""
    rows = ["utterance\tsplit\trecording_chain"]
    rows += [f"{j.utt}\t{j.split}\t{recordings[j.utt].describe()}" for j in todo if recordings[j.utt] is not None]
    write_text_atomic(out / "augment.tsv", "\n".join(rows) + "\n")
