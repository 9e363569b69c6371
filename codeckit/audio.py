"""Audio I/O at codeckit's edge: files or arrays in, float32 `(channels, samples)` tensors out.

Every conversion (integer PCM, stereo, other sample rates) happens here, once, so the
rest of the toolkit only ever sees float32 audio in [-1, 1] at a known sample rate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Union

import numpy as np
import soundfile as sf
import soxr
import torch

from codeckit.errors import AudioError
from codeckit.fileio import atomic_path

ArrayLike = Union[np.ndarray, torch.Tensor]
AudioSource = Union[str, os.PathLike, np.ndarray, torch.Tensor]
Channels = Union[Literal["mono", "keep"], int]

_INT_SCALE = {np.dtype("int16"): 32768.0, np.dtype("int32"): 2147483648.0, np.dtype("int8"): 128.0}


def read_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    channels: Channels = "mono",
) -> tuple[torch.Tensor, int]:
    """Read any file soundfile reads into float32 `(channels, samples)`.

    `sample_rate` resamples (soxr) when given; `channels` is "mono" (down-mix),
    "keep", or an int selecting one channel. Returns the audio and its sample rate.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file not found: {p}")
    if p.is_dir():
        raise AudioError(f"expected an audio file, got a directory: {p}")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"cannot read audio file {p}: unreadable or unsupported format ({e})") from None
    return _finish(data.T, sr, sample_rate, channels, name=str(p))


def as_audio(
    array: ArrayLike,
    sr: int,
    sample_rate: int | None = None,
    channels: Channels = "mono",
    name: str = "<array>",
) -> tuple[torch.Tensor, int]:
    """Convert an array `(samples,)` or `(channels, samples)` at rate `sr` to float32 audio.

    Integer PCM (int8/16/32) is scaled to [-1, 1]; floats are kept as they are.
    """
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().numpy()
    if not isinstance(array, np.ndarray):
        raise AudioError(f"{name}: expected a numpy array or torch tensor, got {type(array).__name__}")
    if array.ndim not in (1, 2):
        raise AudioError(f"{name}: expected shape (samples,) or (channels, samples), got {tuple(array.shape)}")
    if array.shape[-1] == 0:
        raise AudioError(f"{name}: zero-length audio")
    if array.ndim == 2 and array.shape[0] > array.shape[1] and array.shape[1] <= 8:
        raise AudioError(f"{name}: shape {tuple(array.shape)} looks like (samples, channels); pass (channels, samples)")
    if array.dtype in _INT_SCALE:
        data = array.astype(np.float32) / _INT_SCALE[array.dtype]
    elif np.issubdtype(array.dtype, np.floating):
        with np.errstate(over="ignore"):  # beyond float32's range: Inf, refused by _finish with the NaN check
            data = array.astype(np.float32, copy=False)
    else:
        raise AudioError(f"{name}: unsupported dtype {array.dtype}; use float32/float64 or int16/int32")
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise AudioError(f"{name}: sample rate must be a positive int, got {sr!r}")
    return _finish(np.atleast_2d(data), int(sr), sample_rate, channels, name=name)


def load(
    source: AudioSource,
    sr: int | None = None,
    sample_rate: int | None = None,
    channels: Channels = "mono",
) -> tuple[torch.Tensor, int]:
    """Read a path or convert an array (which then needs its rate `sr`)."""
    if isinstance(source, (str, os.PathLike)):
        return read_audio(source, sample_rate, channels)
    if sr is None:
        if sample_rate is None:
            raise AudioError("an array needs its sample rate: pass sr=")
        sr = sample_rate
    return as_audio(source, sr, sample_rate, channels)


def resample(audio: ArrayLike, orig_sr: int, target_sr: int) -> torch.Tensor:
    """Resample `(channels, samples)` audio with soxr (high quality)."""
    was_tensor = isinstance(audio, torch.Tensor)
    data = audio.detach().cpu().numpy() if was_tensor else np.asarray(audio)
    data = np.atleast_2d(data).astype(np.float32, copy=False)
    if orig_sr != target_sr:
        data = soxr.resample(data.T, orig_sr, target_sr, quality="HQ").T
    return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))


def write_audio(
    path: str | os.PathLike,
    audio: ArrayLike,
    sample_rate: int,
    subtype: str | None = None,
) -> Path:
    """Write `(channels, samples)` or `(samples,)` audio atomically (temporary name, then rename)."""
    p = Path(path)
    data = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    if data.ndim == 1:
        data = data[None]
    if data.ndim != 2:
        raise AudioError(f"{p}: audio to write must be (channels, samples), got {tuple(data.shape)}")
    fmt = p.suffix.lstrip(".").upper()
    if fmt not in sf.available_formats():
        raise AudioError(f"{p}: unsupported audio format '{p.suffix}'")
    with atomic_path(p) as tmp:
        sf.write(str(tmp), data.T.astype(np.float32), sample_rate, subtype=subtype, format=fmt)
    return p


def _finish(data: np.ndarray, sr: int, sample_rate: int | None, channels: Channels, name: str):
    if data.shape[-1] == 0:
        raise AudioError(f"{name}: zero-length audio")
    if not np.isfinite(data).all():
        raise AudioError(f"{name}: audio contains NaN or Inf samples")
    if channels == "mono":
        data = data.mean(axis=0, keepdims=True)
    elif isinstance(channels, int) and not isinstance(channels, bool):
        if not 0 <= channels < data.shape[0]:
            raise AudioError(f"{name}: channel {channels} requested, audio has {data.shape[0]}")
        data = data[channels : channels + 1]
    elif channels != "keep":
        raise AudioError(f"{name}: channels must be 'mono', 'keep' or an int, got {channels!r}")
    if sample_rate is not None and sample_rate != sr:
        return resample(data, sr, sample_rate), sample_rate
    return torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32)), sr
