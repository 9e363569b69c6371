"""Training data: Kaldi `wav.scp` lists, random fixed-length crops, resampling and mono on the fly.

Every crop is a pure function of (seed, epoch, index), so batches are the same whatever the number
of DataLoader workers, and a resumed run sees exactly the batches an uninterrupted one would.
A file that cannot be read is reported back in the batch (path and reason), replaced by another
item, and logged and counted by the training process.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from codeckit.audio import as_audio
from codeckit.errors import AudioError, CodeckitError, ConfigError

_MAX_REPLACEMENTS = 20
CodecKitErrorT = TypeVar("CodecKitErrorT", bound=CodeckitError)


class DataError(CodeckitError, ValueError):
    """Training data that cannot be used (empty list, too many unreadable files)."""


def read_wav_scp(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Read a Kaldi `wav.scp`: `utt-id path` per line; blank lines and `#` comments are skipped."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"data list not found: {p}")
    entries = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ConfigError(f"{p}:{n}: expected 'utt-id path', got {line!r}")
        entries.append((parts[0], parts[1].strip()))
    if not entries:
        raise DataError(f"data list {p} has no entries")
    return entries


@dataclass
class Batch:
    """A collated batch: audio `(B, C, T)`, the ids, and files that failed while making it."""

    audio: torch.Tensor
    ids: list[str]
    bad: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


class CropDataset(Dataset):
    """Random `segment` samples of each listed file at `sample_rate`; short files are zero-padded.

    Items are indexed by `(epoch, index)` so the crop offset is reproducible from the seed.
    """

    def __init__(self, entries: list[tuple[str, str]], sample_rate: int, segment: int, channels: int, seed: int):
        self.entries, self.sample_rate, self.segment = entries, sample_rate, segment
        self.channels, self.seed = channels, seed

    def __len__(self) -> int:
        return len(self.entries)

    def load_crop(self, index: int, rng: np.random.Generator) -> torch.Tensor:
        """Read a random crop of entry `index`, resampled and channel-converted."""
        _, path = self.entries[index]
        try:
            info = sf.info(path)
            sr, frames = int(info.samplerate), int(info.frames)
            need = math.ceil(self.segment * sr / self.sample_rate) + (16 if sr != self.sample_rate else 0)
            start = int(rng.integers(0, frames - need + 1)) if frames > need else 0
            data, _ = sf.read(path, start=start, stop=min(frames, start + need), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, OSError) as e:
            raise AudioError(f"cannot read audio file {path}: {e}") from None
        mode = "mono" if self.channels == 1 else "keep"
        audio, _ = as_audio(data.T, sr, self.sample_rate, channels=mode, name=path)
        if audio.shape[0] != self.channels:
            raise AudioError(f"{path}: has {audio.shape[0]} channels, the codec takes {self.channels}")
        audio = audio[:, : self.segment]
        if audio.shape[-1] < self.segment:
            audio = torch.nn.functional.pad(audio, (0, self.segment - audio.shape[-1]))
        return audio

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, str, list[tuple[str, str]]]:
        epoch, index = key
        rng = np.random.default_rng([self.seed, epoch, index])
        bad = []
        for _ in range(_MAX_REPLACEMENTS):
            try:
                return self.load_crop(index, rng), self.entries[index][0], bad
            except AudioError as e:
                bad.append((self.entries[index][1], str(e)))
                index = int(rng.integers(0, len(self.entries)))
        raise DataError(f"{_MAX_REPLACEMENTS} files in a row could not be read, last: {bad[-1][0]} ({bad[-1][1]})")


def collate(items: list[tuple[torch.Tensor, str, list[tuple[str, str]]]]) -> Batch:
    """Stack crops into a Batch, carrying the bad-file reports along."""
    return Batch(
        audio=torch.stack([a for a, _, _ in items]),
        ids=[i for _, i, _ in items],
        bad=[b for _, _, bs in items for b in bs],
    )


class EpochSampler(Sampler):
    """Yields `(epoch, index)` keys: a DistributedSampler's shard for this epoch, from `start` on.

    Each rank gets an equal share of a seeded permutation; `start` skips items already consumed
    (resuming mid-epoch).
    """

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        self.inner = DistributedSampler(
            range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=world_size > 1
        )
        self.batch_size = batch_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start = epoch, start_batch * self.batch_size
        self.inner.set_epoch(epoch)

    def batches_per_epoch(self) -> int:
        return len(self.inner) // self.batch_size

    def __len__(self) -> int:
        return max(0, self.batches_per_epoch() * self.batch_size - self.start)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(self.inner)[: self.batches_per_epoch() * self.batch_size]
        for i in indices[self.start :]:
            yield (self.epoch, i)


class _Loader(DataLoader):
    """A DataLoader whose worker processes' codeckit errors reach the training process as they were raised:
    one line, not torch's "Caught DataError in DataLoader worker process 0. Original Traceback ..." text."""

    def __iter__(self):
        it = super().__iter__()
        while True:
            try:
                batch = next(it)
            except StopIteration:
                return
            except CodeckitError as e:
                raise _unwrapped(e) from None
            yield batch


def _unwrapped(e: CodecKitErrorT) -> CodecKitErrorT:
    """`e` with the worker's own message when torch re-raised it with the worker's traceback as text."""
    text = str(e)
    if "Original Traceback" not in text:
        return e
    marker = f"{type(e).__module__}.{type(e).__qualname__}: "
    at = text.rfind(marker)
    message = text[at + len(marker) :].strip() if at >= 0 else text.strip().splitlines()[-1]
    try:
        return type(e)(message)
    except Exception:  # noqa: BLE001 - an error class that takes other arguments keeps torch's text
        return e


def make_loader(
    scp: str,
    sample_rate: int,
    segment: int,
    channels: int,
    batch_size: int,
    num_workers: int,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[DataLoader, EpochSampler]:
    """A DataLoader of `Batch`es over `scp` and its sampler (call `sampler.set_epoch` before each epoch)."""
    entries = read_wav_scp(scp)
    dataset = CropDataset(entries, sample_rate, segment, channels, seed)
    sampler = EpochSampler(len(dataset), batch_size, seed, rank, world_size)
    if sampler.batches_per_epoch() < 1:
        raise DataError(
            f"{scp}: {len(entries)} files give no full batch of {batch_size} per process over {world_size} process(es)"
        )
    loader = _Loader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        drop_last=True,
        persistent_workers=False,
        generator=torch.Generator(),  # keeps the global torch RNG untouched (exact resume)
        multiprocessing_context="fork" if num_workers and os.name == "posix" else None,
    )
    return loader, sampler
