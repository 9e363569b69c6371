"""Kaldi data directories (train/dev/test) from real corpora laid out as they are published.

- LibriTTS: `ROOT/<part>/<speaker>/<chapter>/<utt>.wav` with `<utt>.normalized.txt`; the published
  train/dev/test parts already have disjoint speakers and books.
- LJSpeech: `ROOT/wavs/<utt>.wav` and `ROOT/metadata.csv` (`id|text|normalized text`); one speaker,
  so the split is by chapter (LJ001 test, LJ002 dev by default).
- VCTK 0.92: `ROOT/wav48_silence_trimmed/<spk>/<utt>_mic1.flac` and `ROOT/txt/<spk>/<utt>.txt`; the
  last speakers (sorted) are test and dev, and train drops every utterance whose sentence is also
  read in test (VCTK speakers share a passage), so test voices and sentences are unseen.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import Utterance, write_data_dir

SPLITS = ("train", "dev", "test")


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise CorpusError(f"{what} not found: {path}")
    return path


def _write_splits(out: Path, splits: dict[str, list[Utterance]], corpus: str) -> dict[str, Path]:
    written = {}
    for name in SPLITS:
        if not splits.get(name):
            raise CorpusError(f"{corpus}: the {name} split is empty; check the source folder and the split options")
        written[name] = write_data_dir(out / name, splits[name])
    return written


def _norm_text(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def libritts_part(root: str | os.PathLike, part: str) -> list[Utterance]:
    """The utterances of one LibriTTS part (e.g. 'train-clean-100') under `root` (the `LibriTTS` folder)."""
    base = _require_dir(Path(root) / part, f"LibriTTS part '{part}'")
    utts = []
    for wav in sorted(base.glob("*/*/*.wav")):
        spk = wav.parent.parent.name
        txt = wav.with_name(wav.stem + ".normalized.txt")
        if not txt.is_file():
            raise CorpusError(f"LibriTTS transcript missing for {wav}: expected {txt.name} beside it")
        if not wav.stem.startswith(spk + "_"):
            raise CorpusError(f"LibriTTS file {wav} is not named <speaker>_<chapter>_... under its speaker folder")
        utts.append(Utterance(wav.stem, spk, str(wav.resolve()), txt.read_text().strip()))
    if not utts:
        raise CorpusError(f"no <speaker>/<chapter>/<utt>.wav files under LibriTTS part {base}")
    return utts


def prepare_libritts(
    root: str | os.PathLike,
    out: str | os.PathLike,
    train: tuple[str, ...] = ("train-clean-100",),
    dev: tuple[str, ...] = ("dev-clean",),
    test: tuple[str, ...] = ("test-clean",),
) -> dict[str, Path]:
    """Write `out/{train,dev,test}` from the named LibriTTS parts; returns the three data dirs."""
    parts = {"train": train, "dev": dev, "test": test}
    splits = {name: [u for p in ps for u in libritts_part(root, p)] for name, ps in parts.items()}
    return _write_splits(Path(out), splits, "LibriTTS")


def prepare_ljspeech(
    root: str | os.PathLike,
    out: str | os.PathLike,
    test_chapters: tuple[str, ...] = ("LJ001",),
    dev_chapters=("LJ002",),
) -> dict[str, Path]:
    """Write `out/{train,dev,test}` from LJSpeech-1.1 at `root`, splitting by chapter (the `LJnnn` prefix)."""
    root = Path(root)
    wavs = _require_dir(root / "wavs", "LJSpeech folder 'wavs'")
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise CorpusError(f"LJSpeech metadata not found: {meta}")
    splits: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
    with open(meta, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE), 1):
            if len(row) != 3:
                raise CorpusError(f"{meta}:{n}: expected 'id|text|normalized text', got {len(row)} fields")
            utt, _, text = row
            wav = wavs / f"{utt}.wav"
            if not wav.is_file():
                raise CorpusError(f"{meta}:{n}: audio file {wav} not found")
            chapter = utt.split("-")[0]
            split = "test" if chapter in test_chapters else "dev" if chapter in dev_chapters else "train"
            splits[split].append(Utterance(utt, "LJ", str(wav.resolve()), text))
    return _write_splits(Path(out), splits, "LJSpeech")


def prepare_vctk(
    root: str | os.PathLike,
    out: str | os.PathLike,
    mic: str = "mic1",
    n_test_speakers: int = 8,
    n_dev_speakers: int = 4,
) -> dict[str, Path]:
    """Write `out/{train,dev,test}` from VCTK 0.92 at `root`: test/dev are the last speakers (sorted by id)."""
    root = Path(root)
    audio = _require_dir(root / "wav48_silence_trimmed", "VCTK folder 'wav48_silence_trimmed'")
    txt = _require_dir(root / "txt", "VCTK folder 'txt'")
    if mic not in ("mic1", "mic2"):
        raise CorpusError(f"VCTK microphone must be 'mic1' or 'mic2', got '{mic}'")
    spks = sorted(p.name for p in audio.iterdir() if p.is_dir())
    if len(spks) < n_test_speakers + n_dev_speakers + 1:
        raise CorpusError(
            f"{audio} has {len(spks)} speakers, too few for {n_test_speakers} test + {n_dev_speakers} dev + 1 train"
        )
    test_spk = set(spks[len(spks) - n_test_speakers :])
    dev_spk = set(spks[len(spks) - n_test_speakers - n_dev_speakers : len(spks) - n_test_speakers])
    splits: dict[str, list[Utterance]] = {s: [] for s in SPLITS}
    for spk in spks:
        split = "test" if spk in test_spk else "dev" if spk in dev_spk else "train"
        for flac in sorted((audio / spk).glob(f"*_{mic}.flac")):
            utt = flac.name[: -len(f"_{mic}.flac")]
            t = txt / spk / f"{utt}.txt"
            text = t.read_text().strip() if t.is_file() else ""  # p315 has no transcripts
            splits[split].append(Utterance(utt, spk, str(flac.resolve()), text))
    test_sentences = {_norm_text(u.text) for u in splits["test"] if u.text}
    for name in ("train", "dev"):
        splits[name] = [u for u in splits[name] if _norm_text(u.text) not in test_sentences]
    return _write_splits(Path(out), splits, "VCTK")


PREPARERS = {"libritts": prepare_libritts, "ljspeech": prepare_ljspeech, "vctk": prepare_vctk}
