"""`CodecModel`: a loaded codec as a tokenizer (declarations, `tokenize`, `detokenize`, token files)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import soundfile as sf
import torch

from codeckit.api.chunked import AudioSource, decode_chunks, encode_overlap, encode_streaming
from codeckit.api.inputs import AudioInput, batch_items, open_item, read_until
from codeckit.codecs.base import Codec
from codeckit.compress.mixin import CompressMixin
from codeckit.errors import AudioError
from codeckit.nn.streaming import streams_exactly
from codeckit.tokens.batch import Tokens
from codeckit.tokens.check import as_batch, check_range
from codeckit.tokens.errors import TokenError
from codeckit.tokens.tokenfile import TokenFile, TokenHeader, load_tokens, save_tokens


class CodecModel(CompressMixin):
    """A loaded codec as a tokenizer: declarations, `tokenize`, `detokenize`, token files and (from
    `CompressMixin`) entropy-coded files."""

    def __init__(
        self,
        codec: Codec,
        chunk_seconds: float = 20.0,
        context_seconds: float = 2.0,
        path: Path | None = None,
    ):
        self.codec = codec.eval()
        self.path = path
        m = codec.pad_multiple
        if chunk_seconds <= 0 or context_seconds < 0:
            raise ValueError(
                f"chunk_seconds must be > 0 and context_seconds >= 0, got {chunk_seconds}, {context_seconds}"
            )
        self.chunk = max(m, math.ceil(chunk_seconds * codec.sample_rate / m) * m)
        self.context = math.ceil(context_seconds * codec.sample_rate / m) * m
        self._identity: str | None = None

    # -- declarations -------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """The codec's sample rate (Hz): what tokenize resamples to."""
        return self.codec.sample_rate

    @property
    def channels(self) -> int:
        """Audio channels the codec takes."""
        return self.codec.channels

    @property
    def n_levels(self) -> int:
        """Number of code levels."""
        return self.codec.n_levels

    @property
    def hop_lengths(self) -> list[int]:
        """Samples per code, per level (coarse to fine)."""
        return self.codec.hop_lengths

    @property
    def frame_rates(self) -> list[float]:
        """Codes per second, per level."""
        return self.codec.frame_rates

    @property
    def codebook_sizes(self) -> list[int]:
        """Codebook size per level."""
        return self.codec.codebook_sizes

    @property
    def device(self) -> torch.device:
        """Where the codec's weights are (inputs are moved there)."""
        return next(self.codec.parameters()).device

    @property
    def identity(self) -> str:
        """SHA-256 of the codec's config and weights (computed once), stored in every token file."""
        if self._identity is None:
            from codeckit.tokens.identity import codec_identity

            self._identity = codec_identity(self.codec)
        return self._identity

    def bitrate(self, n_quantizers: int | None = None) -> float:
        """Nominal bits per second with the first `n_quantizers` levels (all by default)."""
        return self.codec.bitrate(n_quantizers)

    # -- tokenize -----------------------------------------------------------------------------
    @torch.no_grad()
    def tokenize(
        self,
        audio: AudioInput | Sequence[AudioInput],
        sr: int | Sequence[int | None] | None = None,
        n_quantizers: int | None = None,
    ) -> Tokens:
        """Audio -> `Tokens` (codes per level padded over the batch, plus per-item lengths and frames).

        `audio` is a path, a `(samples,)` / `(channels, samples)` array or tensor, a `(batch, channels,
        samples)` tensor, or a list of any of these (a batch of unequal lengths: each item is coded as if
        alone). `sr` is the rate of array inputs (one for all, or one per item); None means the codec's
        rate. Files carry their own rate. `n_quantizers` keeps the first n levels (default: all).
        """
        n = self.codec.spec.check_n_quantizers(n_quantizers)
        items = batch_items(audio, sr)
        results: list[list[torch.Tensor] | None] = [None] * len(items)
        lengths = [0] * len(items)
        sources: list[str | None] = [None] * len(items)
        rates: list[int | None] = [None] * len(items)
        short: list[tuple[int, torch.Tensor]] = []
        for i, (item, item_sr) in enumerate(items):
            blocks, rates[i], sources[i] = open_item(item, item_sr, i, self.sample_rate, self.channels)
            head, ended = read_until(blocks, self.chunk + 2 * self.context)
            if ended:
                short.append((i, head))
                lengths[i] = head.shape[-1]
            else:
                results[i], lengths[i] = self._encode_long(AudioSource(head, blocks), n)
        for idx, per_item in self._encode_short(short, n):
            for i, codes in zip(idx, per_item):
                results[i] = codes
        return self._assemble(results, lengths, n, sources, rates)

    def _encode_long(self, source: AudioSource, n: int) -> tuple[list[torch.Tensor], int]:
        """An item longer than a chunk window: carried state when the encoder streams exactly, else overlap-save."""
        if streams_exactly(self.codec.encoder):
            return encode_streaming(self.codec, source, n, self.chunk, self.device)
        return encode_overlap(self.codec, source, n, self.chunk, self.context, self.device)

    def _encode_short(self, short: list[tuple[int, torch.Tensor]], n: int) -> Iterator[tuple[list[int], list]]:
        """Encode whole items in batches of at most one chunk window's worth of samples."""
        budget = self.chunk + 2 * self.context
        short = sorted(short, key=lambda x: x[1].shape[-1])
        while short:
            group = [short.pop()]  # longest first
            while short and (len(group) + 1) * group[0][1].shape[-1] <= budget:
                group.append(short.pop())
            lengths = [a.shape[-1] for _, a in group]
            batch = torch.zeros(len(group), self.channels, max(lengths))
            for j, (_, a) in enumerate(group):
                batch[j, :, : a.shape[-1]] = a
            codes = self.codec.encode(batch.to(self.device), n, lengths=lengths)
            frames = [self.codec.n_frames(t) for t in lengths]
            yield (
                [i for i, _ in group],
                [[c[j, : frames[j][level]].cpu() for level, c in enumerate(codes)] for j in range(len(group))],
            )

    # -- detokenize ---------------------------------------------------------------------------
    @torch.no_grad()
    def detokenize(
        self, codes: Tokens | TokenFile | str | os.PathLike | Sequence[torch.Tensor] | Sequence[str | os.PathLike]
    ) -> list[torch.Tensor]:
        """Codes -> one float32 `(channels, samples)` CPU tensor per item at the codec's rate.

        `codes` is `Tokens` (each item trimmed to its original length), a token file path or a list of
        paths (checked to come from this codec; trimmed to the stored length), a loaded `TokenFile`, or a
        list with one `(batch, frames_l)` or `(frames_l,)` integer tensor per level (decoded to the full
        length the frames cover). Codes out of range raise TokenError naming level, item and frame.
        """
        if isinstance(codes, Tokens):
            items = [(codes[i], codes.lengths[i]) for i in range(len(codes))]
        elif isinstance(codes, (str, os.PathLike, TokenFile)):
            items = [self._from_file(codes)]
        elif isinstance(codes, Sequence) and codes and all(isinstance(c, (str, os.PathLike)) for c in codes):
            items = [self._from_file(p) for p in codes]
        else:
            batch, _ = as_batch(codes)
            self._check_levels(batch)
            span = self._check_span([c.shape[1] for c in batch])
            items = [([c[i] for c in batch], span) for i in range(batch[0].shape[0])]
        return [torch.cat(list(self._decode_blocks(c, length)), dim=-1) for c, length in items]

    def detokenize_to_file(self, token_path: str | os.PathLike, out_path: str | os.PathLike) -> Path:
        """Decode a token file straight to an audio file, chunk by chunk (bounded memory), atomically."""
        from codeckit.fileio import atomic_path

        codes, length = self._from_file(token_path)
        out = Path(out_path)
        fmt = out.suffix.lstrip(".").upper()
        if fmt not in sf.available_formats():
            raise AudioError(f"{out}: unsupported audio format '{out.suffix}'")
        with torch.no_grad(), atomic_path(out) as tmp:
            with sf.SoundFile(str(tmp), "w", self.sample_rate, self.channels, format=fmt) as f:
                for block in self._decode_blocks(codes, length):
                    f.write(block.numpy().T)
        return out

    def _decode_blocks(self, codes: list[torch.Tensor], length: int) -> Iterator[torch.Tensor]:
        """Decode one item's 1-D codes per level in one pass or chunk by chunk, yielding `(channels, n)` blocks."""
        check_range([c[None] for c in codes], self.codebook_sizes)
        padded = self._check_span([c.shape[0] for c in codes])
        if padded <= self.chunk + 2 * self.context:
            yield self.codec.decode([c[None].to(self.device) for c in codes], length)[0].cpu()
            return
        yield from decode_chunks(self.codec, codes, length, self.chunk, self.context, self.device)

    # -- token files --------------------------------------------------------------------------
    def save_tokens(self, tokens: Tokens, path: str | os.PathLike, item: int = 0) -> Path:
        """Write item `item` of `tokens` as a token file whose header names this codec."""
        header = TokenHeader.from_spec(
            self.codec.spec,
            self.identity,
            tokens.n_quantizers,
            tokens.lengths[item],
            source=tokens.sources[item] if tokens.sources else None,
            source_sample_rate=tokens.source_sample_rates[item] if tokens.source_sample_rates else None,
        )
        return save_tokens(path, tokens[item], header)

    def load_tokens(self, path: str | os.PathLike) -> Tokens:
        """Read a token file made by this codec as a one-item `Tokens` (refuses files of other codecs)."""
        tf = self._checked(load_tokens(path), f"token file {path}")
        h = tf.header
        return self._assemble([tf.codes], [h.length], len(tf.codes), [h.source], [h.source_sample_rate])

    def tokenize_to_file(
        self, audio: AudioInput, out_path: str | os.PathLike, sr: int | None = None, n_quantizers: int | None = None
    ) -> Path:
        """Tokenize one input and write its token file."""
        return self.save_tokens(self.tokenize(audio, sr=sr, n_quantizers=n_quantizers), out_path)

    # -- helpers ------------------------------------------------------------------------------
    def _check_levels(self, codes: Sequence[torch.Tensor]) -> None:
        """Raise TokenError unless there are codes for 1..n_levels levels."""
        if not 1 <= len(codes) <= self.n_levels:
            raise TokenError(f"got codes for {len(codes)} levels; this codec has {self.n_levels}")

    def _check_span(self, frames: Sequence[int]) -> int:
        """Samples covered by per-level frame counts, which must agree and fill whole codec frames."""
        self._check_levels(frames)
        if not all(frames):
            raise TokenError(f"codes have no frames at some level ({list(frames)} frames): nothing to decode")
        spans = [f * h for f, h in zip(frames, self.hop_lengths)]
        if len(set(spans)) != 1:
            per = ", ".join(f"level {i}: {f}" for i, f in enumerate(frames))
            raise TokenError(
                f"frame counts ({per}) do not cover the same span at hops {self.hop_lengths[: len(frames)]}"
            )
        if spans[0] % self.codec.pad_multiple:
            raise TokenError(
                f"level 0 has {frames[0]} frames; this codec decodes multiples of "
                f"{self.codec.pad_multiple // self.hop_lengths[0]} level-0 frames"
            )
        return spans[0]

    def _from_file(self, source: str | os.PathLike | TokenFile) -> tuple[list[torch.Tensor], int]:
        """A token file's codes and length, after checking it was made by this codec."""
        if isinstance(source, TokenFile):
            tf = self._checked(source, "token file")
        else:
            tf = self._checked(load_tokens(source), f"token file {source}")
        return tf.codes, tf.header.length

    def _checked(self, tf: TokenFile, where: str) -> TokenFile:
        """`tf` itself, after checking its header names this codec and its codes fit the codebooks."""
        h = tf.header
        if h.codec_id != self.identity:
            raise TokenError(
                f"{where} was made by codec {h.codec_id[:12]} ({h.sample_rate} Hz, {h.levels} levels, codebooks "
                f"{h.codebook_sizes}), not by this one ({self.identity[:12]}); decode it with the codec that made it"
            )
        check_range([c[None] for c in tf.codes], self.codebook_sizes, what=where)
        return tf

    def _assemble(self, results, lengths, n, sources, rates) -> Tokens:
        """`Tokens` from per-item 1-D codes per level, zero-padded over the batch."""
        frames = [[r.shape[0] for r in res] for res in results]
        codes = []
        for level in range(n):
            out = torch.zeros(len(results), max(f[level] for f in frames), dtype=torch.long)
            for i, res in enumerate(results):
                out[i, : frames[i][level]] = res[level]
            codes.append(out)
        return Tokens(codes, lengths, frames, self.sample_rate, n, list(sources), list(rates))
