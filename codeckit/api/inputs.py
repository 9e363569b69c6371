"""The API's inputs: a batch of paths, arrays or tensors turned into blocks of audio at the codec's rate.

Files are read block by block (down-mixed and resampled by a soxr stream), so a long file is never held whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import soxr
import torch

from codeckit.audio import as_audio
from codeckit.errors import AudioError

AudioInput = Union[str, os.PathLike, np.ndarray, torch.Tensor]  # one item of a batch to tokenize
_BLOCK = 1 << 16  # samples read from a file at a time


def batch_items(audio, sr) -> list[tuple[AudioInput, int | None]]:
    """The batch `audio` (one input or a list of them) as (input, its sample rate) pairs; `sr` is one rate or one
    per input."""
    if isinstance(audio, (str, os.PathLike)):
        items = [audio]
    elif isinstance(audio, (np.ndarray, torch.Tensor)):
        items = list(audio) if audio.ndim == 3 else [audio]
    elif isinstance(audio, Sequence) and audio and not isinstance(audio[0], (int, float)):
        items = list(audio)
    else:
        raise AudioError(f"expected a path, an array, a tensor or a non-empty list of them, got {type(audio).__name__}")
    if sr is None or isinstance(sr, (int, np.integer)):
        rates = [sr] * len(items)
    elif isinstance(sr, (str, bytes)) or not isinstance(sr, Iterable):
        raise AudioError(f"sr must be a sample rate in Hz (an int) or one per input, got {sr!r}")
    else:
        rates = list(sr)
        if len(rates) != len(items):
            raise AudioError(f"sr has {len(rates)} rates for {len(items)} inputs")
    return list(zip(items, rates))


def open_item(
    item: AudioInput, sr: int | None, i: int, sample_rate: int, channels: int
) -> tuple[Iterator[torch.Tensor], int, str | None]:
    """(blocks of `(channels, n)` float32 audio at `sample_rate`, source rate, source name) of input `i`."""
    if isinstance(item, (str, os.PathLike)):
        rate = _file_rate(item)
        return iter(_file_blocks(item, sample_rate, channels)), rate, str(item)
    rate = sample_rate if sr is None else sr
    audio, _ = as_audio(item, rate, sample_rate, "mono" if channels == 1 else "keep", name=f"input {i}")
    if audio.shape[0] != channels:
        raise AudioError(f"input {i}: has {audio.shape[0]} channels; this codec takes {channels}")
    return iter([audio]), rate, None


def read_until(blocks: Iterator[torch.Tensor], limit: int) -> tuple[torch.Tensor, bool]:
    """Concatenate blocks until more than `limit` samples are read or they run out; (audio, ran out)."""
    parts, total = [], 0
    for block in blocks:
        parts.append(block)
        total += block.shape[-1]
        if total > limit:
            return torch.cat(parts, dim=-1), False
    return torch.cat(parts, dim=-1), True


def _file_rate(path: str | os.PathLike) -> int:
    """The sample rate of an audio file, or an AudioError saying why it cannot be read."""
    p = Path(path)
    if not p.is_file():
        raise AudioError(
            f"audio file not found: {p}" if not p.is_dir() else f"expected an audio file, got a directory: {p}"
        )
    try:
        return int(sf.info(str(p)).samplerate)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"cannot read audio file {p}: unreadable or unsupported format ({e})") from None


def _file_blocks(path: str | os.PathLike, sample_rate: int, channels: int) -> Iterable[torch.Tensor]:
    """Read a file block by block, down-mixed (when the codec is mono) and resampled by a soxr stream.

    The result equals `codeckit.audio.read_audio(path, sample_rate)` sample for sample.
    """
    p = Path(path)
    with sf.SoundFile(str(p)) as f:
        if channels != 1 and f.channels != channels:
            raise AudioError(f"{p}: has {f.channels} channels; this codec takes {channels}")
        stream = soxr.ResampleStream(f.samplerate, sample_rate, channels, dtype="float32", quality="HQ")
        resample = f.samplerate != sample_rate
        total = 0
        for block in f.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True):
            if not np.isfinite(block).all():
                raise AudioError(f"{p}: audio contains NaN or Inf samples")
            data = block.mean(axis=1, keepdims=True) if channels == 1 else block
            if resample:
                data = stream.resample_chunk(data, last=False)
            total += len(data)
            if len(data):
                yield torch.from_numpy(np.ascontiguousarray(data.T, dtype=np.float32))
        if resample:
            data = stream.resample_chunk(np.zeros((0, channels), np.float32), last=True)
            total += len(data)
            if len(data):
                yield torch.from_numpy(np.ascontiguousarray(data.T, dtype=np.float32))
        if total == 0:
            raise AudioError(f"{p}: zero-length audio")
