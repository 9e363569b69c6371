"""Whole items to and from compressed files, and the bits a compressed file spends (for bitrates)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codeckit.compress.errors import CompressError
from codeckit.compress.fit import as_arrays
from codeckit.compress.model import CodecSpec, ContextModel
from codeckit.compress.reader import CompressedReader
from codeckit.compress.storage import load_context_model
from codeckit.compress.writer import ChunkWriter, make_header
from codeckit.fileio import atomic_path
from codeckit.tokens.tokenfile import TokenFile, load_tokens

_LOADED: dict[tuple[str, int], ContextModel] = {}


def spec_of(codec_model: Any) -> CodecSpec:
    """The codec spec of a loaded codec (`codeckit.load`'s object): identity and code layout."""
    return CodecSpec(
        codec_id=codec_model.identity,
        sample_rate=int(codec_model.sample_rate),
        channels=int(codec_model.channels),
        hop_lengths=[int(h) for h in codec_model.hop_lengths],
        codebook_sizes=[int(s) for s in codec_model.codebook_sizes],
    )


def context_model_of(source: Any) -> ContextModel:
    """A context model given itself, a loaded codec (`codeckit.load`) or a model directory (cached by mtime)."""
    if isinstance(source, ContextModel):
        return source
    if hasattr(source, "context_model"):
        return source.context_model
    from codeckit.compress.storage import MODEL_FILE

    p = Path(source).expanduser().resolve()
    f = p / MODEL_FILE
    key = (str(p), f.stat().st_mtime_ns if f.is_file() else 0)
    if key not in _LOADED:
        _LOADED[key] = load_context_model(p)
    return _LOADED[key]


def write_codes(
    stream,
    codes: Sequence,
    model: ContextModel,
    length: int | None = None,
    source: str | None = None,
    source_sample_rate: int | None = None,
    seconds_per_chunk: float = 2.0,
) -> ChunkWriter:
    """Write one item's codes (1-D per active level) as a compressed stream; the finished writer."""
    arrays = as_arrays(codes, model.spec.levels)
    header = make_header(model, len(arrays), seconds_per_chunk, source, source_sample_rate)
    writer = ChunkWriter(stream, header, model)
    writer.write(arrays)
    writer.finish(length)
    return writer


def compress_codes(path: str | os.PathLike, codes: Sequence, model: ContextModel, **kw: Any) -> Path:
    """Write one item's codes to the compressed file `path` (through a temporary name); see `write_codes`."""
    p = Path(path)
    with atomic_path(p) as tmp, open(tmp, "wb") as f:
        write_codes(f, codes, model, **kw)
    return p


def compress_token_file(src: str | os.PathLike, dst: str | os.PathLike, model: ContextModel, **kw: Any) -> Path:
    """A token file to a compressed file (same codes, length and source)."""
    tf = load_tokens(src)
    if tf.header.codec_id != model.spec.codec_id:
        raise CompressError(f"token file {src} was made by codec {tf.header.codec_id[:12]}, not this model's codec")
    h = tf.header
    return compress_codes(
        dst, tf.codes, model, length=h.length, source=h.source, source_sample_rate=h.source_sample_rate, **kw
    )


def decompress_file(path: str | os.PathLike | bytes, model: ContextModel) -> TokenFile:
    """A compressed file's codes and token header, every chunk checked."""
    with CompressedReader(path, model) as r:
        return r.read()


def compressed_bits(codec_or_model_dir: Any, codes: Sequence, include_header: bool = False) -> int:
    """Bits one item's codes take as a compressed stream: every chunk record (payload, lengths, CRCs), and
    with `include_header` the whole file (header and end record too). `codes` are 1-D per active level (or
    `(1, frames)`); the context model comes from a model directory, a loaded codec or is given."""
    model = context_model_of(codec_or_model_dir)
    arrays = [c.reshape(-1) if c.ndim == 2 and c.shape[0] == 1 else c for c in codes]
    buf = io.BytesIO()
    writer = write_codes(buf, arrays, model)
    return 8 * (writer.bytes_written if include_header else writer.payload_bytes)


def token_streams(paths: Sequence[str | os.PathLike], codec_id: str) -> Iterator[list[np.ndarray]]:
    """Codes of each token file, after checking a codec with identity `codec_id` made it."""
    for p in paths:
        tf = load_tokens(p)
        if tf.header.codec_id != codec_id:
            raise CompressError(f"token file {p} was made by codec {tf.header.codec_id[:12]}, not by {codec_id[:12]}")
        yield [c.numpy() for c in tf.codes]
