"""Where a corpus comes from: audio files (a wav.scp, folders, files), a Lhotse manifest, or a Lhotse Shar folder.

Each source cuts its utterances into numbered shards the same way in every worker (so all ranks agree on
the plan without talking to each other) and has a digest that changes when its utterances do.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf
import torch

from codeckit.errors import AudioError
from codeckit.shards.errors import ShardError

Collect = Callable[[Sequence[str], Sequence[str]], list[tuple[str, Path]]]  # (inputs, suffixes) -> (id, path)
MANIFEST_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")


@dataclass
class Item:
    """One utterance: an audio file or a Lhotse cut."""

    id: str
    path: str | None = None
    cut: Any = None
    _seconds: float | None = None  # the duration, once read

    @property
    def where(self) -> str:
        """How errors name it: the id and the file."""
        return f"{self.id} ({self.path})" if self.path else self.id

    def seconds(self) -> float:
        """Duration in seconds from the file header or the cut (raises AudioError for an unreadable file)."""
        if self.cut is not None:
            return float(self.cut.duration)
        if self._seconds is None:
            self._seconds = _file_seconds(Path(self.path))
        return self._seconds

    def read(self, sample_rate: int, channels: int) -> tuple[torch.Tensor, str | None, int]:
        """(audio `(channels, n)` at `sample_rate`, source name, source rate), as `CodecModel.tokenize` reads it."""
        from codeckit.api.inputs import open_item

        if self.cut is None:
            blocks, rate, source = open_item(self.path, None, 0, sample_rate, channels)
        else:
            blocks, rate, _ = open_item(self.cut.load_audio(), int(self.cut.sampling_rate), 0, sample_rate, channels)
            rec = getattr(self.cut, "recording", None)
            source = rec.sources[0].source if rec is not None and rec.sources[0].type == "file" else self.id
        return torch.cat(list(blocks), dim=-1), source, rate


class Source:
    """Utterances cut into `n_shards` numbered shards; `digest` names their content."""

    kind = "files"
    shar_dir: str | None = None  # the input Shar folder, whose cuts the output reuses

    def __init__(self, items: list[Item], shard_size: int, digest: str):
        self.items, self.shard_size = items, shard_size
        self.n_shards = -(-len(items) // shard_size)
        self.digest = hashlib.sha256(f"{digest} {shard_size}".encode()).hexdigest()

    def shard(self, k: int) -> list[Item]:
        """The utterances of shard `k`, in corpus order."""
        return self.items[k * self.shard_size : (k + 1) * self.shard_size]

    def seconds(self, k: int) -> float:
        """Seconds of audio in shard `k` (files whose header cannot be read count 0: they will be skipped)."""
        return sum(_seconds_or_zero(it) for it in self.shard(k))


class CutSource(Source):
    """A Lhotse cut (or recording) manifest."""

    kind = "cuts"


class SharSource(Source):
    """A Lhotse Shar folder: its own shards are the plan's, its cuts are read shard by shard."""

    kind = "shar"

    def __init__(self, folder: Path):
        self.shar_dir = str(folder.resolve())
        self.cuts = sorted(p for p in folder.glob("cuts.*") if ".jsonl" in p.name)
        self.recordings = sorted(folder.glob("recording.*.tar"))
        if self.recordings and len(self.recordings) != len(self.cuts):
            raise ShardError(f"{folder}: {len(self.cuts)} cuts shards but {len(self.recordings)} recording shards")
        self.n_shards = len(self.cuts)
        names = "".join(f"{p.name} {p.stat().st_size}\n" for p in self.cuts + self.recordings)
        self.digest = hashlib.sha256(f"{self.shar_dir}\n{names}".encode()).hexdigest()

    def shard(self, k: int) -> list[Item]:
        from lhotse import CutSet

        fields = {"cuts": [str(self.cuts[k])]}
        if self.recordings:
            fields["recording"] = [str(self.recordings[k])]
        return [Item(c.id, None, c) for c in CutSet.from_shar(fields=fields)]

    def seconds(self, k: int) -> float:
        from lhotse import CutSet

        return sum(c.duration for c in CutSet.from_shar(fields={"cuts": [str(self.cuts[k])]}))


def open_source(inputs: Sequence[str], shard_size: int, collect: Collect, suffixes: Sequence[str]) -> Source:
    """The corpus named by `inputs`: one Shar folder, one Lhotse manifest, or audio files / folders / wav.scp
    lists gathered by `collect(inputs, suffixes)` (the per-file tokenizer's own collector)."""
    if shard_size < 1:
        raise ShardError(f"--shard-size must be >= 1, got {shard_size}")
    kinds = [_kind(Path(i)) for i in inputs]
    if len(inputs) > 1 and set(kinds) != {"files"}:
        raise ShardError("a Lhotse manifest or Shar folder must be the only input, got " + " ".join(inputs))
    if kinds[0] == "shar":
        src = SharSource(Path(inputs[0]))
    elif kinds[0] == "cuts":
        src = _cut_source(Path(inputs[0]), shard_size)
    else:
        found = collect(inputs, suffixes)
        digest = hashlib.sha256("".join(f"{k}\t{os.path.abspath(p)}\n" for k, p in found).encode()).hexdigest()
        src = Source([Item(k, str(p)) for k, p in found], shard_size, digest)
    if src.n_shards == 0:
        raise ShardError(f"no utterances in {' '.join(inputs)}")
    return src


def _kind(p: Path) -> str:
    if p.is_dir() and any(".jsonl" in c.name for c in p.glob("cuts.*")):
        return "shar"
    if p.is_file() and p.name.endswith(MANIFEST_SUFFIXES):
        return "cuts"
    return "files"


def _cut_source(path: Path, shard_size: int) -> CutSource:
    from lhotse import CutSet, RecordingSet, load_manifest

    try:
        manifest = load_manifest(path)
    except Exception as e:  # noqa: BLE001 - lhotse raises many types for a bad manifest
        raise ShardError(f"{path}: not a Lhotse manifest ({type(e).__name__}: {e})") from None
    if isinstance(manifest, RecordingSet):
        manifest = CutSet.from_manifests(recordings=manifest)
    if not isinstance(manifest, CutSet):
        raise ShardError(f"{path}: a {type(manifest).__name__}; expected cuts or recordings")
    cuts = list(manifest)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return CutSource([Item(c.id, None, c) for c in cuts], shard_size, digest)


def _file_seconds(p: Path) -> float:
    """An audio file's duration from its header (AudioError naming the file when it cannot be read)."""
    if not p.is_file():
        raise AudioError(f"audio file not found: {p}")
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"cannot read audio file {p}: unreadable or unsupported format ({e})") from None
    return info.frames / info.samplerate


def _seconds_or_zero(it: Item) -> float:
    try:
        return it.seconds()
    except Exception:  # noqa: BLE001 - the worker names the file when it reaches it
        return 0.0
