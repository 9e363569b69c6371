"""Every leaderboard codec behind one interface: run a mono signal through it and say what it spent.

`run_codec` resamples the file to the codec's rate, times encode and decode separately, and
resamples the output back, so metrics compare against the untouched original.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from codeckit.audio import resample
from codeckit.baselines.base import fit_length
from codeckit.bench.specs import CodecEntry
from codeckit.chunking import round_up
from codeckit.codec_spec import CodecSpec

if TYPE_CHECKING:  # units.py imports CodecRun from here
    from codeckit.bench.units import DedupUnitsCodec


@dataclass
class CodecRun:
    """One file through one codec."""

    decoded: torch.Tensor  # (1, samples) at the file's rate
    bits: float  # bits spent on the file (bytes produced, or nominal bits for token codecs)
    nominal_bps: float  # the codec's declared bitrate
    encode_s: float
    decode_s: float
    tokens: list[np.ndarray] | None  # per-level codes (token codecs only)


class SpecDeclared:
    """What a token codec on the leaderboard declares, read from its CodecSpec (model directories, ONNX exports)."""

    def _declare(self, spec: CodecSpec) -> None:
        self.spec = spec
        self.sample_rate = spec.sample_rate
        self.delay_s = spec.delay / spec.sample_rate

    @property
    def codebook_sizes(self) -> list[int]:
        """Codebook size per level."""
        return list(self.spec.codebook_sizes)

    @property
    def frame_rates(self) -> list[float]:
        """Codes per second, per level."""
        return self.spec.frame_rates


class NeuralCodec(SpecDeclared):
    """A codeckit model directory, loaded once per process."""

    def __init__(self, model_dir: str):
        from codeckit.codecs import load_codec

        self.codec = load_codec(model_dir)
        self._declare(self.codec.spec)

    def run(self, audio: torch.Tensor) -> CodecRun:
        """Mono `(1, T)` at `sample_rate` through the model (repeated to its channel count)."""
        x = audio[None].repeat(1, self.spec.channels, 1)
        with torch.inference_mode():
            t0 = time.perf_counter()
            codes = self.codec.encode(x)
            t1 = time.perf_counter()
            y = self.codec.decode(codes, length=x.shape[-1])
            t2 = time.perf_counter()
        bitrate = self.spec.bitrate()
        bits = bitrate * round_up(x.shape[-1], self.spec.pad_multiple) / self.sample_rate
        tokens = [c[0].cpu().numpy().astype(np.int64) for c in codes]
        return CodecRun(y[0].mean(0, keepdim=True).float(), bits, bitrate, t1 - t0, t2 - t1, tokens)

    def tokens(self, audio: np.ndarray) -> list[np.ndarray]:
        """Mono `(samples,)` float32 at `sample_rate` -> one 1-D int64 array of codes per level."""
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None, None]
        with torch.inference_mode():
            codes = self.codec.encode(x.repeat(1, self.spec.channels, 1))
        return [c[0].cpu().numpy().astype(np.int64) for c in codes]


class BaselineRunner:
    """A classic codec (identity, Opus, Codec2) from codeckit.baselines."""

    def __init__(self, codec):
        self.codec = codec
        self.sample_rate = codec.sample_rate
        self.delay_s = codec.delay_s

    def run(self, audio: torch.Tensor) -> CodecRun:
        x = audio[None]
        t0 = time.perf_counter()
        payloads = self.codec.encode(x)
        t1 = time.perf_counter()
        y = self.codec.decode(payloads, length=x.shape[-1])
        t2 = time.perf_counter()
        return CodecRun(y[0], float(self.codec.payload_bits(payloads[0])), self.codec.bitrate(), t1 - t0, t2 - t1, None)


_LOADED: dict[tuple[str, int], NeuralCodec | BaselineRunner | DedupUnitsCodec] = {}


def open_codec(entry: CodecEntry, file_rate: int) -> NeuralCodec | BaselineRunner | DedupUnitsCodec:
    """The codec of `entry`, cached per process (identity runs at each file's own rate)."""
    from codeckit.baselines import Codec2Codec, IdentityCodec, OpusCodec

    cache_key = (entry.key, file_rate if entry.kind == "identity" else 0)
    if cache_key not in _LOADED:
        if entry.kind == "model":
            _LOADED[cache_key] = NeuralCodec(entry.arg)
        elif entry.kind == "opus":
            _LOADED[cache_key] = BaselineRunner(OpusCodec(float(entry.arg)))
        elif entry.kind == "codec2":
            _LOADED[cache_key] = BaselineRunner(Codec2Codec(entry.arg))
        elif entry.kind == "onnx":
            from codeckit.bench.onnx_codec import OnnxRunner

            _LOADED[cache_key] = OnnxRunner(entry.arg)
        elif entry.kind == "units_dedup":
            from codeckit.bench.units import DedupUnitsCodec

            _LOADED[cache_key] = DedupUnitsCodec(entry.arg)
        elif entry.kind == "identity":
            delay_s = float(entry.arg) / 1000 if entry.arg else 0.0
            _LOADED[cache_key] = BaselineRunner(IdentityCodec(file_rate, delay_s=delay_s))
        else:
            raise ValueError(f"unknown codec kind {entry.kind!r}")
    return _LOADED[cache_key]


def run_codec(entry: CodecEntry, audio: torch.Tensor, sample_rate: int) -> CodecRun:
    """Mono `(1, T)` audio at `sample_rate` through `entry`'s codec; the output comes back at `sample_rate`."""
    codec = open_codec(entry, sample_rate)
    out = codec.run(resample(audio, sample_rate, codec.sample_rate))
    out.decoded = fit_length(resample(out.decoded, codec.sample_rate, sample_rate), audio.shape[-1])
    return out


def stability_tests(entry: CodecEntry, sample_rate: int) -> dict[str, Callable[[np.ndarray], float]]:
    """The token stability tests of a neural codec on mono audio at `sample_rate` (see metrics/stability.py).

    The file is resampled to the codec's rate once, outside the tests, so resampling cannot add instability.
    """
    from codeckit.metrics import stability

    runner = open_codec(entry, sample_rate)
    if not isinstance(runner, NeuralCodec):
        return {}
    codec, spec = runner.codec, runner.spec

    def at_codec_rate(fn: Callable[..., float]) -> Callable[[np.ndarray], float]:
        def run(audio: np.ndarray) -> float:
            x = resample(torch.from_numpy(np.asarray(audio, np.float32))[None], sample_rate, spec.sample_rate)
            return fn(runner.tokens, x[0].numpy())

        return run

    return {
        "stab.shift": at_codec_rate(lambda enc, x: stability.shift_instability(enc, x, codec.hop_length)),
        "stab.context": at_codec_rate(
            lambda enc, x: stability.context_instability(
                enc, x, list(spec.hop_lengths), spec.pad_multiple, spec.sample_rate
            )
        ),
        "stab.noise": at_codec_rate(stability.noise_instability),
    }
