"""The runner's streams: exact step-graph streams for causal codecs, overlap-save over the offline graphs otherwise.

`OnnxCodec.stream_encoder` / `stream_decoder` (`codeckit.export.runner`) make them; chunks are planned by
`codeckit.chunking`. numpy only, like the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from codeckit.chunking import Window, context_start, overlap_windows, ready_samples
from codeckit.export import metadata as md
from codeckit.export.errors import ExportError

if TYPE_CHECKING:
    from codeckit.export.runner import OnnxCodec

_NP = {"float32": np.float32, "bool": np.bool_, "int64": np.int64}


def _check_chunk(codec: OnnxCodec, chunk: int | None, default: int) -> int:
    """`chunk` (or `default`) after checking it is a positive multiple of the codec's `pad_multiple`."""
    chunk = default if chunk is None else int(chunk)
    if chunk < 1 or chunk % codec.pad_multiple:
        raise ExportError(f"chunk_samples must be a positive multiple of {codec.pad_multiple}, got {chunk}")
    return chunk


class _Buffer:
    """Pending input along the last axis: audio `(B, C, n)` or per-level codes `(B, n_l)` in codec groups."""

    def __init__(self, units: list[int]):
        self.units = units  # samples per entry, per part (1 for audio; hop_l for codes)
        self.parts: list[np.ndarray] | None = None

    def push(self, parts: list[np.ndarray]) -> None:
        if self.parts is None:
            self.parts = [p.copy() for p in parts]
        else:
            self.parts = [np.concatenate([a, p], axis=-1) for a, p in zip(self.parts, parts)]

    @property
    def samples(self) -> int:
        return 0 if self.parts is None else self.parts[0].shape[-1] * self.units[0]

    def peek(self, start: int, stop: int) -> list[np.ndarray]:
        """Entries covering samples [start, stop) of the buffer."""
        assert self.parts is not None
        return [p[..., start // u : stop // u] for p, u in zip(self.parts, self.units)]

    def drop(self, samples: int) -> None:
        if self.parts is not None:
            self.parts = [p[..., samples // u :] for p, u in zip(self.parts, self.units)]


class _StepStream:
    """Shared by the step-graph streams: states created from the metadata, one row per stream."""

    graph_name = ""

    def __init__(self, codec: OnnxCodec, batch: int, chunk_samples: int | None):
        if int(batch) < 1:
            raise ExportError(f"batch must be >= 1, got {batch}")
        self.codec, self.batch = codec, int(batch)
        self.graph = codec.graph(self.graph_name)
        streaming = self.graph.meta["streaming"]
        self.chunk = _check_chunk(codec, chunk_samples, int(streaming["chunk_samples"]))
        self.first = max(int(streaming["first_chunk_samples"]), self.chunk)
        self.first = -(-self.first // self.chunk) * self.chunk
        self.specs = self.graph.meta["states"]
        self.reset()

    def initial_states(self, batch: int) -> dict[str, np.ndarray]:
        """Initial value of every state for `batch` streams, from the metadata."""
        out = {}
        for s in self.specs:
            shape, dtype = (batch, *s["shape"][1:]), _NP[s["dtype"]]
            if s["init"] == "zeros":
                out[s["input"]] = np.zeros(shape, dtype)
            elif s["init"] == "ones":
                out[s["input"]] = np.ones(shape, dtype)
            else:
                out[s["input"]] = np.broadcast_to(np.asarray(s["value"], dtype), shape).copy()
        return out

    def reset(self, streams: Sequence[int] | None = None) -> None:
        """Restart all streams, or only `streams` (allowed when no input is pending: at a step boundary)."""
        if streams is None:
            self.states = self.initial_states(self.batch)
            self.started = False
            self.buffer = self._new_buffer()
            return
        if self.buffer.samples:
            raise ExportError("reset single streams only between steps (no input pending); push whole chunks first")
        idx = [int(i) for i in streams]
        if any(not 0 <= i < self.batch for i in idx):
            raise ExportError(f"stream indices {idx} out of range for {self.batch} streams")
        init = self.initial_states(len(idx))
        for name, value in init.items():
            self.states[name][idx] = value

    def _new_buffer(self) -> _Buffer:
        raise NotImplementedError

    def _ready(self, final: bool) -> int:
        """Samples to run now: whole chunks (the first step at least `first` long); all that is left at the end."""
        return ready_samples(self.buffer.samples, self.chunk, self.chunk if self.started else self.first, final)

    def check_states(self) -> None:
        """Each state as the metadata declares it, `(batch, *shape[1:])` of its dtype (states set by hand
        included); an ExportError names the first one that is not."""
        for s in self.specs:
            x = self.states.get(s["input"])
            want = (self.batch, *s["shape"][1:])
            if not isinstance(x, np.ndarray) or x.shape != want or x.dtype != _NP[s["dtype"]]:
                got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
                raise ExportError(f"streaming state '{s['name']}' must be {s['dtype']} {want}, got {got}")

    def _step(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.check_states()
        out = self.graph.run({**feeds, **self.states})
        self.states = {s["input"]: out[s["output"]] for s in self.specs}
        self.started = True
        return out


class EncoderStream(_StepStream):
    """Exact streaming encoder (causal codecs): `push(audio) -> codes`, `flush() -> codes`."""

    graph_name = "encoder_step"

    def _new_buffer(self) -> _Buffer:
        return _Buffer([1])

    def push(self, audio: np.ndarray) -> list[np.ndarray]:
        """Append `(B, C, n)` audio (any n); returns the codes of every step completed, `(B, frames_l)` per level."""
        self.buffer.push([self.codec.as_audio(audio, self.batch)])
        return self._run(self._ready(False))

    def flush(self) -> list[np.ndarray]:
        """Codes of what is pending, zero-padded to the codec's multiple as offline encoding pads; then reset."""
        pending = self.buffer.samples
        if pending and not self.started and pending < self.codec.min_samples:
            raise ExportError(
                f"a stream of {pending} samples is shorter than this export's minimum {self.codec.min_samples}"
            )
        if pending % self.codec.pad_multiple:
            self.buffer.push(
                [np.zeros((self.batch, self.codec.channels, -pending % self.codec.pad_multiple), np.float32)]
            )
        out = self._run(self.buffer.samples)
        self.reset()
        return out

    def _run(self, samples: int) -> list[np.ndarray]:
        if not samples:
            return [np.zeros((self.batch, 0), np.int64) for _ in range(self.codec.n_levels)]
        (audio,) = self.buffer.peek(0, samples)
        self.buffer.drop(samples)
        out = self._step({md.AUDIO: np.ascontiguousarray(audio)})
        return [out[md.code_name(i)] for i in range(self.codec.n_levels)]


class DecoderStream(_StepStream):
    """Exact streaming decoder (causal codecs): `push(codes) -> audio`, `flush() -> audio`."""

    graph_name = "decoder_step"

    def _new_buffer(self) -> _Buffer:
        return _Buffer(self.codec.hop_lengths)

    def push(self, codes: Sequence[np.ndarray]) -> np.ndarray:
        """Append codes (one `(B, n_l)` array per level); returns the audio `(B, C, n)` of every step completed."""
        self.buffer.push(self.codec.check_codes(codes, self.batch, whole=False))
        return self._run(self._ready(False))

    def flush(self) -> np.ndarray:
        """Audio of the pending codes (they must fill whole codec groups); then reset."""
        pending = self.buffer.samples
        if pending % self.codec.pad_multiple:
            raise ExportError(f"pending codes cover {pending} samples, not a multiple of {self.codec.pad_multiple}")
        out = self._run(pending)
        self.reset()
        return out

    def _run(self, samples: int) -> np.ndarray:
        if not samples:
            return np.zeros((self.batch, self.codec.channels, 0), np.float32)
        codes = self.buffer.peek(0, samples)
        self.buffer.drop(samples)
        feeds = {md.code_name(i): np.ascontiguousarray(c) for i, c in enumerate(codes)}
        return self._step(feeds)[md.AUDIO]


class _OverlapStream:
    """Overlap-save over an offline graph: chunk [s, s + chunk) runs with `context` on both sides, keeps its part."""

    def __init__(self, codec: OnnxCodec, batch: int, chunk_samples: int | None, context_samples: int | None):
        if int(batch) < 1:
            raise ExportError(f"batch must be >= 1, got {batch}")
        self.codec, self.batch = codec, int(batch)
        self.chunk = _check_chunk(codec, chunk_samples, codec.chunk_samples)
        context = codec.context_samples if context_samples is None else int(context_samples)
        if context < 0 or context % codec.pad_multiple:
            raise ExportError(f"context_samples must be a multiple of {codec.pad_multiple} (>= 0), got {context}")
        self.context = context
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Algorithmic latency: a chunk plus the lookahead."""
        return self.chunk + self.context

    def reset(self) -> None:
        """Start over (a new utterance on every stream)."""
        self.buffer = self._new_buffer()
        self.start = 0  # absolute sample position of the buffer's first entry
        self.pos = 0  # absolute position of the next chunk to emit

    def _new_buffer(self) -> _Buffer:
        raise NotImplementedError

    def _windows(self, final: bool) -> list[Window]:
        """The windows (absolute samples) of every chunk ready now; the next chunk then starts after them."""
        windows = overlap_windows(self.pos, self.start + self.buffer.samples, self.chunk, self.context, final)
        if windows:
            self.pos = windows[-1].keep_to
        return windows

    def _trim(self) -> None:
        """Drop the input no later window reads."""
        keep_from = max(self.start, context_start(self.pos, self.context))
        self.buffer.drop(keep_from - self.start)
        self.start = keep_from


class OverlapEncoderStream(_OverlapStream):
    """Streaming encoder for non-causal codecs by overlap-save (`context` samples of lookahead)."""

    def _new_buffer(self) -> _Buffer:
        return _Buffer([1])

    def push(self, audio: np.ndarray) -> list[np.ndarray]:
        """Append `(B, C, n)` audio (any n); returns the codes of every chunk whose lookahead has arrived."""
        self.buffer.push([self.codec.as_audio(audio, self.batch)])
        return self._run(False)

    def flush(self) -> list[np.ndarray]:
        """Codes of the rest, zero-padded to the codec's multiple as offline encoding pads; then reset."""
        end = self.start + self.buffer.samples
        if end and end < self.codec.min_samples:
            raise ExportError(
                f"a stream of {end} samples is shorter than this export's minimum {self.codec.min_samples}"
            )
        if end % self.codec.pad_multiple:
            self.buffer.push([np.zeros((self.batch, self.codec.channels, -end % self.codec.pad_multiple), np.float32)])
        out = self._run(True)
        self.reset()
        return out

    def _run(self, final: bool) -> list[np.ndarray]:
        parts: list[list[np.ndarray]] = [[] for _ in range(self.codec.n_levels)]
        for w in self._windows(final):
            (audio,) = self.buffer.peek(w.start - self.start, w.stop - self.start)
            codes = self.codec.encode(audio)
            for level, (c, hop) in enumerate(zip(codes, self.codec.hop_lengths)):
                parts[level].append(c[:, w.kept(hop)])
        self._trim()
        return [np.concatenate(p, axis=1) if p else np.zeros((self.batch, 0), np.int64) for p in parts]


class OverlapDecoderStream(_OverlapStream):
    """Streaming decoder for non-causal codecs by overlap-save (`context` samples of lookahead, in codes)."""

    def _new_buffer(self) -> _Buffer:
        return _Buffer(self.codec.hop_lengths)

    def push(self, codes: Sequence[np.ndarray]) -> np.ndarray:
        """Append codes (one `(B, n_l)` array per level); returns the audio of every chunk whose lookahead is in."""
        self.buffer.push(self.codec.check_codes(codes, self.batch, whole=False))
        return self._run(False)

    def flush(self) -> np.ndarray:
        """Audio of the pending codes (they must fill whole codec groups); then reset."""
        if self.buffer.samples % self.codec.pad_multiple:
            raise ExportError(
                f"pending codes cover {self.buffer.samples} samples, not a multiple of {self.codec.pad_multiple}"
            )
        out = self._run(True)
        self.reset()
        return out

    def _run(self, final: bool) -> np.ndarray:
        parts = []
        for w in self._windows(final):
            # whole groups only: a window's codes must be decodable on their own
            codes = self.buffer.peek(w.start - self.start, w.stop - self.start)
            audio = self.codec.decode(codes)
            parts.append(audio[..., w.kept()])
        self._trim()
        if not parts:
            return np.zeros((self.batch, self.codec.channels, 0), np.float32)
        return np.concatenate(parts, axis=-1)
