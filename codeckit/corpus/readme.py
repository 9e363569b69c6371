"""The README.md of a synthetic corpus: how it was made, and its splits, languages and hours in tables.

Hours come from the first rate's `utt2dur` lists, so the README describes the corpus as written.
"""

from __future__ import annotations

from pathlib import Path

from codeckit.corpus import augment as aug
from codeckit.corpus.planning import SPLITS, CorpusSize, Job, rate_dir
from codeckit.fileio import write_text_atomic

_LANGUAGE_NAMES = {
    "en": "English", "it": "Italian", "cs": "Czech", "ru": "Russian", "fi": "Finnish",
    "ca": "Catalan", "hi": "Hindi", "mr": "Marathi", "te": "Telugu", "de": "German", "es": "Spanish",
    "pt": "Brazilian Portuguese", "pl": "Polish",
}  # fmt: skip


def write_readme(
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
    """Write `out`/README.md for the corpus made of `todo`, whose data dirs are already written."""
    dur = _durations(out, rates[0])
    natural = voices == "all"
    lines = _how_made(natural, augment)
    lines += _facts(size, source, seed, rates, natural)
    lines += _split_table(todo, dur)
    if natural:
        lines += _language_table(todo, dur)
    if recordings:
        lines += _chain_counts(len(todo), recordings)
    lines += _files(bool(recordings))
    write_text_atomic(out / "README.md", "\n".join(lines))


def _durations(out: Path, rate: int) -> dict[str, float]:
    """Each utterance's duration in seconds, as the `utt2dur` lists of rate `rate` give it."""
    durations = {}
    for split in SPLITS:
        for line in (out / rate_dir(rate) / split / "utt2dur").read_text().splitlines():
            if line:
                utt, dur = line.split()
                durations[utt] = float(dur)
    return durations


def _how_made(natural: bool, augment: float) -> list[str]:
    """The title and the paragraph on engines, voices and the recording chain."""
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
    return lines


def _facts(size: CorpusSize, source: str, seed: int, rates: tuple[int, ...], natural: bool) -> list[str]:
    """The bullet list: text source, unseen test speakers, rates and size."""
    return [
        "",
        f"- text source: `{source}` (seed {seed}); test and dev sentences never occur in train",
        "- test speakers' base voices, espeak accents and variants never occur in train (see speakers.tsv)",
        f"- sample rates: {', '.join(str(r) for r in rates)} Hz, 16-bit mono wav, one tree per rate",
        f"- size: {size.train} train sentences x {size.train_repeats} speaker(s), {size.dev} dev, {size.test} test"
        + (" in English; another language's speaker gets as many utterances, or all its sentences" if natural else ""),
    ]


def _split_table(todo: list[Job], dur: dict[str, float]) -> list[str]:
    """One table row per split: utterances, speakers, distinct sentences and hours."""
    lines = [
        "",
        "| split | utterances | speakers | distinct sentences | hours |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in SPLITS:
        jobs = [j for j in todo if j.split == split]
        hours = sum(dur[j.utt] for j in jobs) / 3600
        n_spk, n_text = len({j.speaker for j in jobs}), len({j.text for j in jobs})
        lines.append(f"| {split} | {len(jobs)} | {n_spk} | {n_text} | {hours:.3f} |")
    return lines


def _language_table(todo: list[Job], dur: dict[str, float]) -> list[str]:
    """One table row per language and split that has utterances, in the order the languages first occur."""
    lines = ["", "| language | split | utterances | speakers | TTS voices | hours |"]
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
    return lines


def _chain_counts(n: int, recordings: dict[str, aug.Recording | None]) -> list[str]:
    """How many of the `n` utterances stayed clean, and how many got each effect."""
    chains = [r for r in recordings.values() if r is not None]
    counts = {
        "clean": n - len(chains),
        "reverb": sum(r.rt60 is not None for r in chains),
        "EQ": sum(bool(r.eq) for r in chains),
        "noise": sum(r.snr_db is not None for r in chains),
    }
    return ["", "Recording chain: " + ", ".join(f"{k} {v} ({100 * v / n:.0f}%)" for k, v in counts.items()) + "."]


def _files(augmented: bool) -> list[str]:
    """The closing paragraph naming the files and folders of the corpus."""
    return [
        "",
        "Files: `settings.json`, `speakers.tsv`, "
        + ("`augment.tsv`, " if augmented else "")
        + "and for each rate R: `R/wav/<speaker>/<utt>.wav` and the",
        "Kaldi data dirs `R/{train,dev,test}/` with `wav.scp`, `text`, `utt2spk`, `spk2utt`, `utt2dur`.",
        "",
    ]
