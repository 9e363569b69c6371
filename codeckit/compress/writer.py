"""Writing a compressed stream: the header, then each chunk as soon as its frames are in, then the end record."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from codeckit.compress.coder import encode_chunk
from codeckit.compress.contexts import check_codes_fit
from codeckit.compress.errors import CompressError
from codeckit.compress.layout import (
    MODEL_ID_BYTES,
    CompressedHeader,
    chunk_record,
    end_record,
    header_bytes,
    words_to_bytes,
)
from codeckit.compress.model import ContextModel


def chunk_samples(sample_rate: int, hop_lengths: Sequence[int], seconds: float) -> int:
    """Samples per chunk: about `seconds`, a whole multiple of every level's hop."""
    if seconds <= 0:
        raise CompressError(f"seconds per chunk must be > 0, got {seconds}")
    unit = math.lcm(*hop_lengths)
    return unit * max(1, round(seconds * sample_rate / unit))


def make_header(
    model: ContextModel,
    n_quantizers: int,
    seconds_per_chunk: float = 2.0,
    source: str | None = None,
    source_sample_rate: int | None = None,
) -> CompressedHeader:
    """The header of a file coded with `model` holding its first `n_quantizers` levels."""
    s = model.spec
    if not 1 <= n_quantizers <= s.levels:
        raise CompressError(f"codes have {n_quantizers} levels; the codec has {s.levels}")
    header = CompressedHeader(
        codec_id=s.codec_id,
        model_id=model.identity[: 2 * MODEL_ID_BYTES],
        sample_rate=s.sample_rate,
        channels=s.channels,
        hop_lengths=list(s.hop_lengths),
        codebook_sizes=list(s.codebook_sizes),
        n_quantizers=n_quantizers,
        chunk_samples=chunk_samples(s.sample_rate, s.hop_lengths, seconds_per_chunk),
        source=source,
        source_sample_rate=source_sample_rate,
    )
    problem = header.check()
    if problem:
        raise CompressError(problem)
    return header


class ChunkWriter:
    """Writes one item to a binary stream: `write` codes as they come (any number of frames, levels kept in
    step by the end), `finish(length)` once. Only whole chunks are coded before `finish`."""

    def __init__(self, stream: BinaryIO, header: CompressedHeader, model: ContextModel):
        if header.model_id != model.identity[: 2 * MODEL_ID_BYTES] or header.codec_id != model.spec.codec_id:
            raise CompressError("the header names another codec or context model than the one given")
        self.stream, self.header, self.model = stream, header, model
        active = header.hop_lengths[: header.n_quantizers]
        self._per_chunk = [header.chunk_samples // h for h in active]
        self._pending = [np.zeros(0, np.int64) for _ in active]
        self.n_chunks = 0
        self.frames = [0] * len(active)
        self.bytes_written = self._put(header_bytes(header))
        self.payload_bytes = 0

    def _put(self, data: bytes) -> int:
        self.stream.write(data)
        return len(data)

    def write(self, codes: Sequence[np.ndarray]) -> None:
        """Append frames to every active level (1-D int arrays) and code the chunks now complete."""
        if len(codes) != len(self._pending):
            raise CompressError(f"got codes for {len(codes)} levels; this file holds {len(self._pending)}")
        codes = [np.asarray(c, dtype=np.int64).reshape(-1) for c in codes]
        check_codes_fit(codes, self.header.codebook_sizes, where=f"chunk {self.n_chunks}")
        self._pending = [np.concatenate([p, c]) for p, c in zip(self._pending, codes)]
        while all(p.shape[0] >= n for p, n in zip(self._pending, self._per_chunk)):
            self._emit(self._per_chunk)

    def _emit(self, frames: Sequence[int]) -> None:
        chunk = [p[:n] for p, n in zip(self._pending, frames)]
        self._pending = [p[n:] for p, n in zip(self._pending, frames)]
        payload = words_to_bytes(encode_chunk(chunk, self.model))
        rec = chunk_record(self.n_chunks, frames[0], payload)
        self.bytes_written += self._put(rec)
        self.payload_bytes += len(rec)
        self.frames = [f + n for f, n in zip(self.frames, frames)]
        self.n_chunks += 1

    def finish(self, length: int | None = None) -> None:
        """Code the last (short) chunk and write the end record; `length` defaults to the frames' span."""
        hops = self.header.hop_lengths
        rest = [p.shape[0] for p in self._pending]
        spans = {(f + r) * h for f, r, h in zip(self.frames, rest, hops)}
        if len(spans) != 1:  # then the last chunk's levels cover the same span too: whole chunks do
            got = ", ".join(f"level {i}: {f + r}" for i, (f, r) in enumerate(zip(self.frames, rest)))
            raise CompressError(f"frame counts ({got}) do not cover the same span at hops {hops[: len(rest)]}")
        if rest[0]:
            self._emit(rest)
        span = spans.pop()
        length = span if length is None else int(length)
        if not 0 < length <= span:
            raise CompressError(f"length {length} samples does not fit {span} samples of frames")
        self.bytes_written += self._put(end_record(self.n_chunks, length))
