"""Reading a compressed file: the header, then chunk by chunk, each checked by its CRC32 before decoding.

A corrupt or missing chunk stops the reading with a CompressError naming the file, the chunk and its byte
offset; the chunks before it have already been yielded. `chunk(k)` seeks to chunk k over the records'
length fields without decoding the chunks before it.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from codeckit.compress.coder import decode_chunk
from codeckit.compress.errors import CompressError
from codeckit.compress.layout import (
    MAGIC,
    MAX_HEADER,
    MAX_PAYLOAD,
    MODEL_ID_BYTES,
    VERSION,
    CompressedHeader,
    bytes_to_words,
    crc,
)
from codeckit.compress.model import ContextModel
from codeckit.tokens.tokenfile import TokenFile


class _Short(Exception):
    """The file ended inside a field."""


class _Fields:
    """Exact reads and varints from a binary stream; `_Short` where it ends early."""

    def __init__(self, f: BinaryIO, name: str):
        self.f, self.name = f, name

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) < n:
            raise _Short(f"needs {n} bytes, {len(data)} left")
        return data

    def varint(self, into: bytearray | None = None) -> int:
        value = 0
        for shift in range(0, 70, 7):
            b = self.read(1)
            if into is not None:
                into += b
            value |= (b[0] & 0x7F) << shift
            if not b[0] & 0x80:
                return value
        raise CompressError(f"{self.name}: a length field before byte {self.f.tell()} is corrupt")


@dataclass
class Record:
    """One chunk record: where it starts, its level-0 frames and its payload bytes."""

    index: int
    offset: int
    frames0: int
    payload: bytes


class CompressedReader:
    """A `.ckc` file (path, bytes or binary stream) opened for reading; use as a context manager."""

    def __init__(self, source: str | os.PathLike | bytes | BinaryIO, model: ContextModel | None = None):
        if isinstance(source, (bytes, bytearray)):
            self.name, self._f = "compressed data", io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            self.name = str(source)
            if not Path(source).is_file():
                raise CompressError(f"compressed file not found: {source}")
            self._f = open(source, "rb")  # noqa: SIM115 (closed by close())
        else:
            self.name, self._f = getattr(source, "name", "compressed stream"), source
        self._io = _Fields(self._f, self.name)
        self.model = model
        self.length: int | None = None  # from the end record, once read
        self.end_offset: int | None = None  # where the end record starts, once read
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise
        self._first = self._f.tell()
        if model is not None:
            self._check_model(model)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> CompressedReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read_header(self) -> CompressedHeader:
        try:
            head = bytearray(self._io.read(4))
            if head[:3] != MAGIC:
                raise CompressError(f"{self.name}: not a codeckit compressed file (no CKC magic)")
            if head[3] != VERSION:
                raise CompressError(f"{self.name}: compressed file version {head[3]} is not supported ({VERSION})")
            n = self._io.varint(head)
            if n > MAX_HEADER:
                raise CompressError(f"{self.name}: header is corrupt (says {n} bytes)")
            body = self._io.read(n)
            stored = int.from_bytes(self._io.read(4), "little")
        except _Short:
            raise CompressError(f"{self.name}: truncated in its header") from None
        if zlib.crc32(bytes(head) + body) != stored:
            raise CompressError(f"{self.name}: header is corrupt (CRC32 mismatch)")
        return self._parse_header(body)

    def _parse_header(self, body: bytes) -> CompressedHeader:
        sub = _Fields(io.BytesIO(body), self.name)
        try:
            codec_id, model_id = sub.read(32).hex(), sub.read(MODEL_ID_BYTES).hex()
            sr, channels, levels, n_q, span, src_sr = (sub.varint() for _ in range(6))
            if levels > 256:
                raise _Short("too many levels")
            per = [(sub.varint(), sub.varint()) for _ in range(levels)]
            source = sub.read(sub.varint()).decode() or None
        except (_Short, UnicodeDecodeError) as e:
            raise CompressError(f"{self.name}: header is malformed ({e})") from None
        h = CompressedHeader(
            codec_id,
            model_id,
            sr,
            channels,
            [p[0] for p in per],
            [p[1] for p in per],
            n_q,
            span,
            source,
            src_sr or None,
        )
        problem = h.check()
        if problem:
            raise CompressError(f"{self.name}: {problem}")
        return h

    def _check_model(self, model: ContextModel) -> None:
        h = self.header
        if h.codec_id != model.spec.codec_id:
            raise CompressError(
                f"{self.name} holds codes of codec {h.codec_id[:12]}, not of this model's codec "
                f"{model.spec.codec_id[:12]}; decompress it with the model that wrote it"
            )
        if h.model_id != model.identity[: 2 * MODEL_ID_BYTES]:
            raise CompressError(
                f"{self.name} was written with context model {h.model_id[:12]}, not this one "
                f"({model.identity[:12]}): the model directory's context model was refit since"
            )

    # -- records ------------------------------------------------------------------------------
    def _record(self, index: int) -> Record | None:
        """The record at the current position (None for the end record, which sets `length`)."""
        offset = self._f.tell()
        where = f"{self.name}: chunk {index} (byte {offset})"
        if self._f.read(1) == b"":
            raise CompressError(f"{self.name}: ends after chunk {index - 1} without its end record (truncated)")
        self._f.seek(offset)
        rec = bytearray()
        try:
            frames0 = self._io.varint(rec)
            if frames0 == 0:
                return self._end(index, rec, offset)
            n = self._io.varint(rec)
            if n > MAX_PAYLOAD or frames0 * self.header.hop_lengths[0] > self.header.chunk_samples:
                raise CompressError(f"{where} is corrupt (impossible frame count or length)")
            payload = self._io.read(n)
            stored = int.from_bytes(self._io.read(4), "little")
        except _Short as e:
            raise CompressError(f"{where} is truncated ({e})") from None
        if crc(index, bytes(rec) + payload) != stored:
            raise CompressError(f"{where} is corrupt (CRC32 mismatch)")
        return Record(index, offset, frames0, payload)

    def _end(self, index: int, rec: bytearray, offset: int) -> None:
        where = f"{self.name}: end record (byte {offset}, after chunk {index - 1})"
        try:
            n_chunks, length = self._io.varint(rec), self._io.varint(rec)
            stored = int.from_bytes(self._io.read(4), "little")
        except _Short:
            raise CompressError(f"{where} is truncated") from None
        if crc(n_chunks, rec) != stored or n_chunks != index or length < 1:
            raise CompressError(f"{where} is corrupt (CRC32 mismatch or wrong chunk count)")
        if self._f.read(1):
            raise CompressError(f"{self.name}: data after the end record (byte {self._f.tell() - 1})")
        self.length, self.end_offset = length, offset
        return None

    def records(self) -> Iterator[Record]:
        """Every chunk record from the first, CRC-checked, up to the end record."""
        self._f.seek(self._first)
        index, short = 0, False
        while (rec := self._record(index)) is not None:
            if short:
                raise CompressError(f"{self.name}: chunk {index} (byte {rec.offset}) follows a short last chunk")
            short = rec.frames0 * self.header.hop_lengths[0] < self.header.chunk_samples
            yield rec
            index += 1

    def decode(self, rec: Record) -> list[np.ndarray]:
        """One record's codes, 1-D int64 per active level (needs the model)."""
        if self.model is None:
            raise CompressError(f"{self.name}: decoding needs the context model")
        where = f"{self.name}: chunk {rec.index} (byte {rec.offset})"
        return decode_chunk(bytes_to_words(rec.payload), self.header.chunk_frames(rec.frames0), self.model, where)

    def chunks(self) -> Iterator[list[np.ndarray]]:
        """Each chunk's codes in order; a bad chunk raises after the good ones before it were yielded."""
        for rec in self.records():
            yield self.decode(rec)

    def chunk(self, k: int) -> list[np.ndarray]:
        """Chunk k's codes, reached by skipping the records before it (they are not decoded or checked)."""
        self._f.seek(self._first)
        for i in range(k):
            offset = self._f.tell()
            try:
                if self._io.varint() == 0:
                    raise CompressError(f"{self.name}: has {i} chunks, no chunk {k}")
                self._f.seek(self._io.varint() + 4, io.SEEK_CUR)
            except _Short:
                raise CompressError(f"{self.name}: chunk {i} (byte {offset}) is truncated") from None
        rec = self._record(k)
        if rec is None:
            raise CompressError(f"{self.name}: has {k} chunks, no chunk {k}")
        return self.decode(rec)

    def read(self) -> TokenFile:
        """All codes (1-D int64 tensors per active level) with their token header, checked."""
        import torch

        parts = list(self.chunks())
        codes = [torch.from_numpy(np.concatenate([p[lv] for p in parts])) for lv in range(self.header.n_quantizers)]
        header = self.header.token_header(self.length)
        header.check(codes, where=self.name)
        return TokenFile(codes, header)
