"""`compress` / `decompress` on the object `codeckit.load` returns (mixed into `codeckit.api.CodecModel`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from codeckit.compress.errors import CompressError
from codeckit.tokens.batch import Tokens
from codeckit.tokens.tokenfile import TOKEN_SUFFIX, TokenFile, load_tokens, save_tokens

if TYPE_CHECKING:  # the coder (constriction) is imported only when compressing
    from codeckit.compress.model import ContextModel


class CompressMixin:
    """Entropy-coded files with the context model stored in the codec's model directory."""

    _context_model: ContextModel | None = None

    @property
    def context_model(self) -> ContextModel:
        """The model directory's context model (loaded once), checked to be fit for this codec."""
        if self._context_model is None:
            from codeckit.compress.storage import load_context_model

            if getattr(self, "path", None) is None:
                raise CompressError("this codec has no model directory to load a context model from; set one")
            self.context_model = load_context_model(self.path)
        return self._context_model

    @context_model.setter
    def context_model(self, model: ContextModel) -> None:
        if model.spec.codec_id != self.identity:
            raise CompressError(
                f"the context model was fit for codec {model.spec.codec_id[:12]}, not this one ({self.identity[:12]});"
                " refit it with `codeckit compress fit`"
            )
        self._context_model = model

    def compress(
        self,
        source: Any,
        out_path: str | os.PathLike,
        sr: int | None = None,
        n_quantizers: int | None = None,
        seconds_per_chunk: float = 2.0,
    ) -> Path:
        """Write one item as a compressed file: `source` is audio (a path, array or tensor, as `tokenize`
        takes), a token file path, a one-item `Tokens`, a `TokenFile`, or codes (one 1-D tensor per level)."""
        from codeckit.compress.files import compress_codes

        codes, length, src, src_sr = self._codes_of(source, sr, n_quantizers)
        return compress_codes(
            out_path,
            codes,
            self.context_model,
            length=length,
            source=src,
            source_sample_rate=src_sr,
            seconds_per_chunk=seconds_per_chunk,
        )

    def decompress(self, path: str | os.PathLike | bytes, tokens: bool = False) -> Any:
        """A compressed file back to audio (`(channels, samples)` float32 at the codec's rate), or with
        `tokens=True` to a one-item `Tokens`."""
        from codeckit.compress.files import decompress_file

        tf = decompress_file(path, self.context_model)
        if tokens:
            h = tf.header
            return self._assemble([tf.codes], [h.length], len(tf.codes), [h.source], [h.source_sample_rate])
        return self.detokenize(tf)[0]

    def decompress_to_file(self, path: str | os.PathLike, out_path: str | os.PathLike, tokens: bool = False) -> Path:
        """A compressed file to an audio file (chunk by chunk) or, with `tokens`, a token file; atomically."""
        from codeckit.compress.files import decompress_file

        tf = decompress_file(path, self.context_model)
        if tokens:
            return save_tokens(out_path, tf.codes, tf.header)
        return self.detokenize_to_file(tf, out_path)

    def _codes_of(self, source: Any, sr: int | None, n: int | None) -> tuple[list, int | None, str | None, int | None]:
        """(codes per level, length, source name, source rate) of what `compress` was given."""

        if isinstance(source, (str, os.PathLike)) and str(source).endswith(TOKEN_SUFFIX):
            source = load_tokens(source)
        if isinstance(source, TokenFile):
            tf = self._checked(source, "token file")
            h = tf.header
            return tf.codes[:n] if n else tf.codes, h.length, h.source, h.source_sample_rate
        if isinstance(source, Sequence) and source and all(isinstance(c, torch.Tensor) for c in source):
            return list(source)[:n] if n else list(source), None, None, None
        tokens = source if isinstance(source, Tokens) else self.tokenize(source, sr=sr, n_quantizers=n)
        if len(tokens) != 1:
            raise CompressError(f"compress writes one item per file; got {len(tokens)}")
        src = tokens.sources[0] if tokens.sources else None
        rate = tokens.source_sample_rates[0] if tokens.source_sample_rates else None
        return tokens[0], tokens.lengths[0], src, rate
