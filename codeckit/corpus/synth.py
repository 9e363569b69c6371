"""Make the synthetic multi-speaker English corpus: plan utterances, speak them in parallel, write lists.

Layout of the output directory OUT:

    OUT/settings.json                 what decides the audio (text source, seed, version)
    OUT/README.md                     what is in it: splits, speakers, sentences, hours
    OUT/speakers.tsv                  speaker id, split, engine, voice, pitch (cents), tempo
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

import soundfile as sf

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import Utterance, write_data_dir
from codeckit.corpus.text import load_sentences
from codeckit.corpus.voices import ENGINES, Speaker, check_available, speakers
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


def split_sentences(pool: list[str], size: CorpusSize) -> dict[str, list[tuple[int, str]]]:
    """Deal the pool's sentences to splits by index (every 20th to test, the next to dev) and take each split's first n.

    The dealing does not depend on the size, so a small corpus is a subset of a full one.
    """
    dealt: dict[str, list[tuple[int, str]]] = {s: [] for s in SPLITS}
    for i, s in enumerate(pool):
        dealt["test" if i % 20 == 0 else "dev" if i % 20 == 1 else "train"].append((i, s))
    out = {}
    for split in SPLITS:
        want = getattr(size, split)
        if len(dealt[split]) < want:
            raise CorpusError(f"the sentence pool gives {len(dealt[split])} {split} sentences, fewer than {want}")
        out[split] = dealt[split][:want]
    return out


def plan(size: CorpusSize, source: str = "fortunes", seed: int = 0, engines: tuple[str, ...] = ENGINES) -> list[Job]:
    """The utterances of a corpus: each split's sentences dealt round-robin to that split's speakers."""
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


def _run(cmd: list[str], what: str) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        err = (res.stderr or res.stdout).strip().splitlines()
        raise CorpusError(f"{what}: '{' '.join(cmd[:3])} ...' failed ({err[-1] if err else f'exit {res.returncode}'})")


def make_utterance(job: Job, out: Path, rates: tuple[int, ...]) -> None:
    """Speak one job and write it at every rate (skipping rates whose wav exists)."""
    targets = [out / rate_dir(r) / "wav" / job.speaker.id / f"{job.utt}.wav" for r in rates]
    if all(t.is_file() for t in targets):
        return
    with tempfile.TemporaryDirectory(prefix="codeckit-synth-") as tmp:
        t = Path(tmp)
        (t / "text.txt").write_text(job.text + "\n")
        _run(job.speaker.tts_command(t / "text.txt", t / "raw.wav"), job.utt)
        effects = []
        if job.speaker.pitch:
            effects += ["pitch", str(job.speaker.pitch)]
        if job.speaker.tempo != 1.0:
            effects += ["tempo", "-s", str(job.speaker.tempo)]
        # trim leading/trailing silence, keep 0.1 s pads, peak-normalise to -3 dBFS
        effects += ["silence", "1", "0.02", "-55d", "reverse", "silence", "1", "0.02", "-55d", "reverse"]
        effects += ["pad", "0.1", "0.1", "norm", "-3"]
        _run(["sox", "-q", str(t / "raw.wav"), "-c", "1", str(t / "proc.wav"), *effects], job.utt)
        for rate, target in zip(rates, targets):
            if target.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            part = t / f"{rate}.wav"
            _run(["sox", "-q", str(t / "proc.wav"), "-b", "16", "-r", str(rate), str(part), "rate", "-v"], job.utt)
            shutil.move(part, target.with_suffix(".wav.part"))
            os.replace(target.with_suffix(".wav.part"), target)


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
) -> Path:
    """Make (or complete) the corpus in `out`; returns `out`. Raises CorpusError naming a failed utterance."""
    from tqdm import tqdm

    out = Path(out)
    if isinstance(size, str):
        if size not in SIZES:
            raise CorpusError(f"unknown corpus size '{size}' (known: {', '.join(SIZES)})")
        size = SIZES[size]
    if not rates or any(r <= 0 for r in rates):
        raise CorpusError(f"sample rates must be positive, got {rates}")
    todo = plan(size, source, seed, engines)
    check_available(sorted({j.speaker for j in todo}, key=lambda s: s.id))
    _check_settings(out, {"version": VERSION, "text_source": source, "seed": seed})
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(make_utterance, j, out, tuple(rates)): j for j in todo}
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
    _write_speakers(out, engines)
    _write_readme(out, todo, size, source, seed, rates)
    log.info("corpus ready in %s (%d utterances)", out, len(todo))
    return out


def _write_speakers(out: Path, engines: tuple[str, ...]) -> None:
    rows = ["speaker\tsplit\tengine\tvoice\tpitch_cents\ttempo"]
    for split in SPLITS:
        for s in speakers(split, engines):
            rows.append(f"{s.id}\t{split}\t{s.engine}\t{s.voice}\t{s.pitch}\t{s.tempo}")
    write_text_atomic(out / "speakers.tsv", "\n".join(rows) + "\n")


def _write_readme(out: Path, todo: list[Job], size: CorpusSize, source: str, seed: int, rates: tuple[int, ...]) -> None:
    first = rate_dir(rates[0])
    lines = [
        "# synth_speech: a synthetic multi-speaker English speech corpus",
        "",
        "Made offline by `codeckit corpus synth` with the TTS engines espeak-ng, flite and festival,",
        "plus sox pitch and tempo changes to turn one voice into several virtual speakers.",
        "Each utterance is trimmed of leading/trailing silence, padded by 0.1 s and peak-normalised to -3 dBFS.",
        "The engines speak at 16 kHz (flite, festival diphones), 22.05 kHz (espeak-ng) or 32 kHz",
        "(festival HTS), so the 24 kHz files carry no energy above the engine's own Nyquist frequency.",
        "",
        f"- text source: `{source}` (seed {seed}); test and dev sentences never occur in train",
        "- test speakers' base voices, espeak accents and variants never occur in train (see speakers.tsv)",
        f"- sample rates: {', '.join(str(r) for r in rates)} Hz, 16-bit mono wav, one tree per rate",
        f"- size: {size.train} train sentences x {size.train_repeats} speaker(s), {size.dev} dev, {size.test} test",
        "",
        "| split | utterances | speakers | distinct sentences | hours |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in SPLITS:
        jobs = [j for j in todo if j.split == split]
        dur = sum(float(line.split()[1]) for line in (out / first / split / "utt2dur").read_text().splitlines() if line)
        n_spk = len({j.speaker for j in jobs})
        lines.append(f"| {split} | {len(jobs)} | {n_spk} | {len({j.text for j in jobs})} | {dur / 3600:.3f} |")
    lines += [
        "",
        "Files: `settings.json`, `speakers.tsv`, and for each rate R: `R/wav/<speaker>/<utt>.wav` and the",
        "Kaldi data dirs `R/{train,dev,test}/` with `wav.scp`, `text`, `utt2spk`, `spk2utt`, `utt2dur`.",
        "",
    ]
    write_text_atomic(out / "README.md", "\n".join(lines))
