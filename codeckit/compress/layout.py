"""The `.ckc` byte layout: a header, chunk records, an end record. All integers are LEB128 varints but CRCs.

    file    = "CKC" version(1 byte) varint(n) header(n bytes) crc32(4 bytes LE, over everything before it)
    header  = codec identity (32 bytes) | context model identity (16 bytes) | sample_rate | channels | levels
              | n_quantizers | chunk_samples | source_sample_rate (0: none) | per level: hop, codebook size
              | varint(len) source (UTF-8, empty: none)
    chunk   = varint(frames of level 0, >= 1) varint(n) payload(n bytes: range-coder words, little-endian,
              trailing zero bytes of the last word dropped) crc32
    end     = varint(0) varint(chunks) varint(length in samples) crc32
Each record's CRC32 covers its index (4 bytes LE, the chunk count for the end record) and its bytes, so a
chunk moved elsewhere fails too. Chunk k holds samples [k * chunk_samples, (k+1) * chunk_samples) of every
active level's frames; level l has frames_0 * hop_0 / hop_l of them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from codeckit.compress.errors import CompressError
from codeckit.tokens.tokenfile import TokenHeader

MAGIC = b"CKC"
VERSION = 1
SUFFIX = ".ckc"
MODEL_ID_BYTES = 16
MAX_HEADER = 1 << 16
MAX_PAYLOAD = 1 << 30


@dataclass(frozen=True)
class CompressedHeader:
    """What a compressed file says about itself: the token header's fields (length comes at the end), the
    context model it was coded with, and its chunk span."""

    codec_id: str  # hex SHA-256 of the codec (codeckit.tokens.identity)
    model_id: str  # first 16 bytes (hex) of the context model's identity
    sample_rate: int
    channels: int
    hop_lengths: list[int]
    codebook_sizes: list[int]
    n_quantizers: int
    chunk_samples: int
    source: str | None = None
    source_sample_rate: int | None = None

    @property
    def levels(self) -> int:
        return len(self.hop_lengths)

    def chunk_frames(self, frames0: int) -> list[int]:
        """Frames per active level of a chunk holding `frames0` level-0 frames."""
        span = frames0 * self.hop_lengths[0]
        return [span // h for h in self.hop_lengths[: self.n_quantizers]]

    def token_header(self, length: int) -> TokenHeader:
        """The token file header of this file's codes, `length` samples long."""
        return TokenHeader(
            codec_id=self.codec_id,
            sample_rate=self.sample_rate,
            channels=self.channels,
            levels=self.levels,
            hop_lengths=list(self.hop_lengths),
            frame_rates=[self.sample_rate / h for h in self.hop_lengths],
            codebook_sizes=list(self.codebook_sizes),
            n_quantizers=self.n_quantizers,
            length=length,
            source=self.source,
            source_sample_rate=self.source_sample_rate,
        )

    def check(self) -> str | None:
        """What makes this header unusable, or None."""
        hops, n = self.hop_lengths, self.n_quantizers
        if self.sample_rate < 1 or self.channels < 1 or not hops or len(self.codebook_sizes) != len(hops):
            return "header has no levels or a zero rate"
        if not 1 <= n <= len(hops) or min(hops) < 1 or min(self.codebook_sizes) < 2:
            return f"header has {n} active of {len(hops)} levels, hops {hops}, codebooks {self.codebook_sizes}"
        if any(self.chunk_samples % h for h in hops) or self.chunk_samples < 1:
            return f"chunk span {self.chunk_samples} is not a multiple of every hop {hops}"
        if any(hops[0] % h for h in hops[:n]):
            return f"level 0's hop {hops[0]} is not a multiple of the finer levels' hops {hops[:n]}"
        return None


def put_varint(buf: bytearray, value: int) -> None:
    """Append `value` (>= 0) as an LEB128 varint."""
    if value < 0:
        raise CompressError(f"cannot store negative value {value}")
    while True:
        b = value & 0x7F
        value >>= 7
        buf.append(b | (0x80 if value else 0))
        if not value:
            return


def crc(index: int, data: bytes | bytearray) -> int:
    """CRC32 of a record: its index (4 bytes LE) and its bytes."""
    return zlib.crc32(data, zlib.crc32(int(index & 0xFFFFFFFF).to_bytes(4, "little")))


def header_bytes(h: CompressedHeader) -> bytes:
    """The file's first bytes: magic, version, the header and its CRC32."""
    body = bytearray(bytes.fromhex(h.codec_id))
    if len(body) != 32 or len(bytes.fromhex(h.model_id)) != MODEL_ID_BYTES:
        raise CompressError("codec identity must be 32 bytes and context model identity 16 (hex)")
    body += bytes.fromhex(h.model_id)
    for v in (h.sample_rate, h.channels, h.levels, h.n_quantizers, h.chunk_samples, h.source_sample_rate or 0):
        put_varint(body, v)
    for hop, size in zip(h.hop_lengths, h.codebook_sizes):
        put_varint(body, hop)
        put_varint(body, size)
    src = (h.source or "").encode()
    put_varint(body, len(src))
    body += src
    out = bytearray(MAGIC + bytes([VERSION]))
    put_varint(out, len(body))
    out += body
    return bytes(out + zlib.crc32(out).to_bytes(4, "little"))


def words_to_bytes(words: np.ndarray) -> bytes:
    """Range-coder words as little-endian bytes, without the last word's trailing zero bytes."""
    data = np.asarray(words, dtype="<u4").tobytes()
    cut = len(data)
    while cut > len(data) - 3 and cut > 0 and data[cut - 1] == 0:
        cut -= 1
    return data[:cut]


def bytes_to_words(data: bytes) -> np.ndarray:
    """The inverse of `words_to_bytes`."""
    pad = (-len(data)) % 4
    return np.frombuffer(data + b"\0" * pad, dtype="<u4").astype(np.uint32)


def chunk_record(index: int, frames0: int, payload: bytes) -> bytes:
    """One chunk's record bytes, CRC included."""
    rec = bytearray()
    put_varint(rec, frames0)
    put_varint(rec, len(payload))
    rec += payload
    return bytes(rec + crc(index, rec).to_bytes(4, "little"))


def end_record(n_chunks: int, length: int) -> bytes:
    """The end record's bytes, CRC included."""
    rec = bytearray()
    for v in (0, n_chunks, length):
        put_varint(rec, v)
    return bytes(rec + crc(n_chunks, rec).to_bytes(4, "little"))
