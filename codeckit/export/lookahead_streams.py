"""The runner's lookahead streams: a non-causal codec streamed exactly through its lookahead step graphs.

Each step runs a whole number of codec groups; the graphs' output comes `delay_samples` late, so a stream
drops that much at its start and, at `flush`, feeds zeros for as long with `end` set to the stream's length,
so that every layer pads as the offline graphs do. Concatenated output equals one offline pass; the latency
is a chunk plus the delay (`latency_samples`). numpy only, like the runner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codeckit.chunking import round_up
from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.export.streams import _Buffer, _StepStream


class _LookaheadStream(_StepStream):
    """Shared: the delay to drop, the samples run so far and the `end` input."""

    def reset(self, streams: Sequence[int] | None = None) -> None:
        """Restart every stream (a lookahead stream cannot restart one stream alone: they share `end`)."""
        if streams is not None:
            raise ExportError("a lookahead stream restarts all its streams together; call reset() without streams")
        super().reset()
        streaming = self.graph.meta["streaming"]
        self.delay = int(streaming["delay_samples"])
        self.no_end = int(streaming["no_end"])
        self.to_drop = self.delay  # output samples still to drop (they stand for times before the start)
        self.consumed = 0  # input samples run through steps
        self.emitted = 0  # output samples returned

    @property
    def latency_samples(self) -> int:
        """Algorithmic latency: a chunk plus the graphs' delay."""
        return self.chunk + self.delay

    def _end(self, value: int | None) -> np.ndarray:
        return np.full((self.batch,), self.no_end if value is None else value, np.int64)

    def _kept(self, samples: int) -> tuple[int, int]:
        """Of `samples` output samples just made: how many to drop at the start; then forget them."""
        drop = min(self.to_drop, samples)
        self.to_drop -= drop
        return drop, samples - drop


class LookaheadEncoderStream(_LookaheadStream):
    """Exact streaming encoder for non-causal codecs: `push(audio) -> codes`, `flush() -> codes`."""

    graph_name = "encoder_step"

    def _new_buffer(self) -> _Buffer:
        return _Buffer([1])

    def push(self, audio: np.ndarray) -> list[np.ndarray]:
        """Append `(B, C, n)` audio (any n); returns the codes that are final now, `(B, frames_l)` per level."""
        self.buffer.push([self.codec.as_audio(audio, self.batch)])
        return self._run(self._ready(False), None)

    def flush(self) -> list[np.ndarray]:
        """The remaining codes, as offline encoding of the whole stream (zero-padded to the codec's multiple)."""
        total = self.consumed + self.buffer.samples
        if 0 < total < self.codec.min_samples:
            raise ExportError(
                f"a stream of {total} samples is shorter than this export's minimum {self.codec.min_samples}"
            )
        padded = round_up(total, self.codec.pad_multiple)
        tail = padded - total + self.delay
        self.buffer.push([np.zeros((self.batch, self.codec.channels, tail), np.float32)])
        owed = padded - self.emitted
        codes = self._run(self.buffer.samples, padded)
        out = [c[:, : max(owed, 0) // h] for c, h in zip(codes, self.codec.hop_lengths)]
        self.reset()
        return out

    def _run(self, samples: int, end: int | None) -> list[np.ndarray]:
        if not samples:
            return [np.zeros((self.batch, 0), np.int64) for _ in range(self.codec.n_levels)]
        (audio,) = self.buffer.peek(0, samples)
        self.buffer.drop(samples)
        out = self._step({md.AUDIO: np.ascontiguousarray(audio), md.END: self._end(end)})
        self.consumed += samples
        drop, kept = self._kept(samples)
        self.emitted += kept
        return [out[md.code_name(i)][:, drop // h :] for i, h in enumerate(self.codec.hop_lengths)]


class LookaheadDecoderStream(_LookaheadStream):
    """Exact streaming decoder for non-causal codecs: `push(codes) -> audio`, `flush() -> audio`."""

    graph_name = "decoder_step"

    def _new_buffer(self) -> _Buffer:
        return _Buffer(self.codec.hop_lengths)

    def push(self, codes: Sequence[np.ndarray]) -> np.ndarray:
        """Append codes (one `(B, n_l)` array per level); returns the audio `(B, C, n)` that is final now."""
        self.buffer.push(self.codec.check_codes(codes, self.batch, whole=False))
        return self._run(self._ready(False), None)

    def flush(self) -> np.ndarray:
        """The remaining audio, as offline decoding of all the codes pushed (they must fill whole codec groups)."""
        pm = self.codec.pad_multiple
        if self.buffer.samples % pm:
            raise ExportError(f"pending codes cover {self.buffer.samples} samples, not a multiple of {pm}")
        total = self.consumed + self.buffer.samples
        tail = round_up(self.delay, pm)  # zero codes: decoded, then zeroed past `end` inside the graphs
        self.buffer.push([np.zeros((self.batch, tail // h), np.int64) for h in self.codec.hop_lengths])
        owed = total - self.emitted
        audio = self._run(self.buffer.samples, total)
        self.reset()
        return audio[..., : max(owed, 0)]

    def _run(self, samples: int, end: int | None) -> np.ndarray:
        if not samples:
            return np.zeros((self.batch, self.codec.channels, 0), np.float32)
        codes = self.buffer.peek(0, samples)
        self.buffer.drop(samples)
        feeds = {md.code_name(i): np.ascontiguousarray(c) for i, c in enumerate(codes)}
        audio = self._step({**feeds, md.END: self._end(end)})[md.AUDIO]
        self.consumed += samples
        drop, kept = self._kept(samples)
        self.emitted += kept
        return audio[..., drop:]
