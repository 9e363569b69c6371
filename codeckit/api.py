"""The Python API for speech LMs: `load` a codec, `tokenize` audio into codes, `detokenize` codes back to audio.

    codec = codeckit.load("path/to/model_dir")          # or a name in the model cache folder, or "hf:ORG/NAME"
    tokens = codec.tokenize(["a.wav", "b.flac"])          # Tokens: padded codes per level + lengths
    audio = codec.detokenize(tokens)                      # list of (channels, samples) tensors

Inputs are converted at the edge, once (codeckit.audio): files and arrays are down-mixed to the codec's
channels and resampled (soxr) to its rate. Items up to one chunk window long are coded in one pass
(batched); longer ones in chunks of `chunk_seconds`, cut at multiples of the codec's `pad_multiple`:

- causal codecs whose encoder (decoder) streams exactly (every layer with memory keeps its state, see
  `codeckit.nn.streaming`) run chunk after chunk with carried state: the result is the single pass's.
- other codecs use overlap-save: each chunk runs with `context_seconds` of real signal (or codes) on
  both sides and only the chunk's own codes (samples) are kept. While the context covers the model's
  receptive field, a chunk sees exactly what a single pass gives it, so results agree up to float
  rounding and no crossfade is needed (a decoder's NoiseBlock noise is drawn per chunk window).

Files are read block by block, so peak memory does not grow with the file's length.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
import soxr
import torch

from codeckit.audio import as_audio
from codeckit.codecs.base import Codec
from codeckit.compress.mixin import CompressMixin
from codeckit.errors import AudioError, ModelDirError
from codeckit.hub import fetch_hub_model, is_hub_spec
from codeckit.tokens.check import as_batch, check_range
from codeckit.tokens.errors import TokenError
from codeckit.tokens.tokenfile import TokenFile, TokenHeader, load_tokens, save_tokens

AudioInput = Union[str, os.PathLike, np.ndarray, torch.Tensor]
DEFAULT_CACHE = Path("~/.cache/codeckit/models")
_BLOCK = 1 << 16  # samples read from a file at a time


@dataclass
class Tokens:
    """What `tokenize` returns for a batch of B items (one item for a single input).

    `codes[l]` is an int64 `(B, max frames_l)` tensor for level l (coarse to fine), on the CPU, zero past
    each item's own frames: the codec contract, ready for `detokenize`. `lengths[i]` is item i's length in
    samples at `sample_rate` and `frames[i][l]` its frame count at level l. `tokens[i]` gives item i's codes
    as 1-D tensors trimmed to its frames.
    """

    codes: list[torch.Tensor]
    lengths: list[int]
    frames: list[list[int]]
    sample_rate: int
    n_quantizers: int
    sources: list[str | None] = field(default_factory=list)
    source_sample_rates: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> list[torch.Tensor]:
        """Item i's codes: one 1-D tensor per level, trimmed to its frames."""
        return [c[i, : self.frames[i][level]] for level, c in enumerate(self.codes)]


def resolve_model(
    model: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> Path:
    """A model directory path as given, a bare name looked up as `<cache_dir>/<name>`, or a hub model.

    `cache_dir` defaults to `~/.cache/codeckit/models`. `hf:ORG/NAME[@REVISION]` is downloaded from the hub at
    `endpoint` (into the hub client's cache, or `hf_cache_dir`), converted once and kept under `<cache_dir>/hf`
    (see `codeckit.hub`).
    """
    if is_hub_spec(model):
        return fetch_hub_model(model, cache_dir, endpoint=endpoint, hf_cache_dir=hf_cache_dir)
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if p.exists():
        raise ModelDirError(f"not a model directory (a file): {p}")
    name = str(model)
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
        cache = Path(cache_dir).expanduser() if cache_dir is not None else DEFAULT_CACHE.expanduser()
        if (cache / name).is_dir():
            return cache / name
        raise ModelDirError(
            f"no model directory '{name}' here and none at {cache / name}; pass a model directory path "
            "or put the model in the cache folder"
        )
    raise ModelDirError(f"model directory not found: {p}")


def load(
    model: str | os.PathLike,
    device: str | torch.device = "cpu",
    threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    chunk_seconds: float = 20.0,
    context_seconds: float = 2.0,
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> CodecModel:
    """Load a model directory, a name in `cache_dir` or a hub model `hf:ORG/NAME[@REVISION]`, on `device`.

    `threads` sets torch's intra-op CPU threads (process-wide) when given. `chunk_seconds` and
    `context_seconds` set the long-audio chunking described in this module's docstring. `endpoint` and
    `hf_cache_dir` are the hub's URL and download cache for `hf:` models (default: the hub client's own).
    """
    from codeckit.codecs.storage import load_codec

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
    path = resolve_model(model, cache_dir, endpoint=endpoint, hf_cache_dir=hf_cache_dir)
    return CodecModel(load_codec(path, device=device), chunk_seconds, context_seconds, path)


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
        return self.codec.sample_rate

    @property
    def channels(self) -> int:
        return self.codec.channels

    @property
    def n_levels(self) -> int:
        return self.codec.n_levels

    @property
    def hop_lengths(self) -> list[int]:
        return self.codec.hop_lengths

    @property
    def frame_rates(self) -> list[float]:
        return self.codec.frame_rates

    @property
    def codebook_sizes(self) -> list[int]:
        return self.codec.codebook_sizes

    @property
    def device(self) -> torch.device:
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
        n = self._check_n(n_quantizers)
        items = self._items(audio, sr)
        results: list[list[torch.Tensor] | None] = [None] * len(items)
        lengths = [0] * len(items)
        sources: list[str | None] = [None] * len(items)
        rates: list[int | None] = [None] * len(items)
        short: list[tuple[int, torch.Tensor]] = []
        for i, (item, item_sr) in enumerate(items):
            blocks, rates[i], sources[i] = self._open(item, item_sr, i)
            head, ended = _read_until(blocks, self.chunk + 2 * self.context)
            if ended:
                short.append((i, head))
                lengths[i] = head.shape[-1]
            elif _streams_exactly(self.codec.encoder):
                results[i], lengths[i] = self._encode_streaming(head, blocks, n)
            else:
                results[i], lengths[i] = self._encode_long(head, blocks, n)
        for idx, per_item in self._encode_short(short, n):
            for i, codes in zip(idx, per_item):
                results[i] = codes
        return self._assemble(results, lengths, n, sources, rates)

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

    def _encode_long(self, head: torch.Tensor, blocks: Iterator[torch.Tensor], n: int) -> tuple[list, int]:
        """Overlap-save encoding of one long item from its first samples and the rest of its blocks."""
        m, C, X = self.codec.pad_multiple, self.chunk, self.context
        buf, buf_start, ended, total = head, 0, False, None
        out = [_GrowingCodes() for _ in range(n)]
        s = 0
        while True:
            while not ended and buf_start + buf.shape[-1] < s + C + X:
                block = next(blocks, None)
                if block is None:
                    ended, total = True, buf_start + buf.shape[-1]
                else:
                    buf = torch.cat([buf, block], dim=-1)
            padded = math.ceil(total / m) * m if ended else None
            if ended and s >= padded:
                break
            e = min(s + C, padded) if ended else s + C
            lo, hi = max(0, s - X), (min(padded, e + X) if ended else e + X)
            window = buf[:, lo - buf_start : hi - buf_start]
            if window.shape[-1] < hi - lo:  # past the end: the zeros a single pass would pad with
                window = torch.nn.functional.pad(window, (0, hi - lo - window.shape[-1]))
            codes = self.codec.encode(window[None].to(self.device), n)
            for level, (c, hop) in enumerate(zip(codes, self.hop_lengths)):
                out[level].append(c[0, (s - lo) // hop : (e - lo) // hop].cpu())
            s = e
            keep_from = max(0, s - X)  # the next window starts here
            buf, buf_start = buf[:, keep_from - buf_start :], keep_from
        return [codes.tensor() for codes in out], total

    def _encode_streaming(self, head: torch.Tensor, blocks: Iterator[torch.Tensor], n: int) -> tuple[list, int]:
        """Exact chunked encoding of one long item with the encoder's carried streaming state."""
        from codeckit.nn.streaming import streaming

        m, C = self.codec.pad_multiple, self.chunk
        buf, total, ended = head, 0, False
        out = [_GrowingCodes() for _ in range(n)]
        with streaming(self.codec.encoder, 1):
            while not ended or buf.shape[-1]:
                while not ended and buf.shape[-1] < C:
                    block = next(blocks, None)
                    if block is None:
                        ended = True
                    else:
                        buf = torch.cat([buf, block], dim=-1)
                piece, buf = buf[:, :C], buf[:, C:]
                total += piece.shape[-1]
                if piece.shape[-1] % m:  # the last piece: zeros to the multiple, as a single pass pads
                    piece = torch.nn.functional.pad(piece, (0, (-piece.shape[-1]) % m))
                if piece.shape[-1]:
                    latents = self.codec.encoder(piece[None].to(self.device))
                    for level, c in enumerate(self.codec.quantizer.encode(latents, n)):
                        out[level].append(c[0].cpu())
        return [codes.tensor() for codes in out], total

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
        """Overlap-save decoding of one item's 1-D codes per level, yielding `(channels, n)` blocks."""
        hops = self.hop_lengths
        check_range([c[None] for c in codes], self.codebook_sizes)
        padded = self._check_span([c.shape[0] for c in codes])
        C, X = self.chunk, self.context
        if padded <= C + 2 * X:
            yield self.codec.decode([c[None].to(self.device) for c in codes], length)[0].cpu()
            return
        if _streams_exactly(self.codec.decoder):
            from codeckit.nn.streaming import streaming

            with streaming(self.codec.decoder, 1):
                for s in range(0, min(padded, math.ceil(length / C) * C), C):
                    window = [c[None, s // h : (s + C) // h].to(self.device) for c, h in zip(codes, hops)]
                    audio = self.codec.decoder(self.codec.quantizer.decode(window))[0].cpu()
                    yield audio[:, : min(C, length - s)]
            return
        for s in range(0, padded, C):
            e = min(s + C, padded)
            if s >= length:
                break
            lo, hi = max(0, s - X), min(padded, e + X)
            window = [c[None, lo // h : hi // h].to(self.device) for c, h in zip(codes, hops)]
            audio = self.codec.decode(window)[0].cpu()
            yield audio[:, s - lo : min(e, length) - lo]

    # -- token files --------------------------------------------------------------------------
    def save_tokens(self, tokens: Tokens, path: str | os.PathLike, item: int = 0) -> Path:
        """Write item `item` of `tokens` as a token file whose header names this codec."""
        header = TokenHeader.from_codec(
            self.codec,
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
    def _check_n(self, n_quantizers: int | None) -> int:
        n = self.n_levels if n_quantizers is None else int(n_quantizers)
        if not 1 <= n <= self.n_levels:
            raise ValueError(f"n_quantizers must be in 1..{self.n_levels}, got {n_quantizers}")
        return n

    def _check_levels(self, codes: Sequence[torch.Tensor]) -> None:
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
        frames = [[r.shape[0] for r in res] for res in results]
        codes = []
        for level in range(n):
            out = torch.zeros(len(results), max(f[level] for f in frames), dtype=torch.long)
            for i, res in enumerate(results):
                out[i, : frames[i][level]] = res[level]
            codes.append(out)
        return Tokens(codes, lengths, frames, self.sample_rate, n, list(sources), list(rates))

    def _items(self, audio, sr) -> list[tuple[AudioInput, int | None]]:
        """The batch as (input, its sample rate) pairs."""
        if isinstance(audio, (str, os.PathLike)):
            items = [audio]
        elif isinstance(audio, (np.ndarray, torch.Tensor)):
            items = list(audio) if audio.ndim == 3 else [audio]
        elif isinstance(audio, Sequence) and audio and not isinstance(audio[0], (int, float)):
            items = list(audio)
        else:
            raise AudioError(
                f"expected a path, an array, a tensor or a non-empty list of them, got {type(audio).__name__}"
            )
        if sr is None or isinstance(sr, (int, np.integer)):
            rates = [sr] * len(items)
        elif isinstance(sr, (str, bytes)) or not isinstance(sr, Iterable):
            raise AudioError(f"sr must be a sample rate in Hz (an int) or one per input, got {sr!r}")
        else:
            rates = list(sr)
            if len(rates) != len(items):
                raise AudioError(f"sr has {len(rates)} rates for {len(items)} inputs")
        return list(zip(items, rates))

    def _open(self, item: AudioInput, sr: int | None, i: int) -> tuple[Iterator[torch.Tensor], int, str | None]:
        """(blocks of `(channels, n)` float32 audio at the codec rate, source rate, source name)."""
        channels = "mono" if self.channels == 1 else "keep"
        if isinstance(item, (str, os.PathLike)):
            rate = _file_rate(item)
            return _file_blocks(item, self.sample_rate, self.channels), rate, str(item)
        rate = self.sample_rate if sr is None else sr
        audio, _ = as_audio(item, rate, self.sample_rate, channels, name=f"input {i}")
        if audio.shape[0] != self.channels:
            raise AudioError(f"input {i}: has {audio.shape[0]} channels; this codec takes {self.channels}")
        return iter([audio]), rate, None


def _streams_exactly(module: torch.nn.Module) -> bool:
    """Whether `module` streams chunk by chunk exactly: it has streaming layers, all causal, and no layer
    with temporal context (a conv with kernel > 1, an LSTM) outside them."""
    from codeckit.nn.streaming import StreamingError, StreamingModule, streaming_state_spec

    stateful = [m for m in module.modules() if isinstance(m, StreamingModule)]
    if not stateful:
        return False
    try:
        streaming_state_spec(module, 1)
    except StreamingError:
        return False
    covered = {id(sub) for m in stateful for sub in m.modules()}
    for m in module.modules():
        if id(m) in covered:
            continue
        if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d, torch.nn.Conv2d)) and max(m.kernel_size) > 1:
            return False
        if isinstance(m, (torch.nn.LSTM, torch.nn.GRU, torch.nn.MultiheadAttention)):
            return False
    return True


class _GrowingCodes:
    """A 1-D int64 buffer that doubles when full: codes of a long item without thousands of small tensors.

    Keeping one small tensor per chunk pins small heap blocks between the freed activations, and glibc's heap
    then grows with the audio's length; a few large buffers do not fragment it.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._data = torch.empty(capacity, dtype=torch.long)
        self._size = 0

    def append(self, codes: torch.Tensor) -> None:
        end = self._size + codes.numel()
        if end > self._data.numel():
            grown = torch.empty(max(end, 2 * self._data.numel()), dtype=torch.long)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = codes.reshape(-1)
        self._size = end

    def tensor(self) -> torch.Tensor:
        return self._data[: self._size].clone()


def _read_until(blocks: Iterator[torch.Tensor], limit: int) -> tuple[torch.Tensor, bool]:
    """Concatenate blocks until more than `limit` samples are read or they run out; (audio, ran out)."""
    parts, total = [], 0
    for block in blocks:
        parts.append(block)
        total += block.shape[-1]
        if total > limit:
            return torch.cat(parts, dim=-1), False
    return torch.cat(parts, dim=-1), True


def _file_rate(path: str | os.PathLike) -> int:
    p = Path(path)
    if not p.is_file():
        raise AudioError(
            f"audio file not found: {p}" if not p.is_dir() else f"expected an audio file, got a directory: {p}"
        )
    try:
        return int(sf.info(str(p)).samplerate)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"cannot read audio file {p}: unreadable or unsupported format ({e})") from None


def _file_blocks(path: str | os.PathLike, sample_rate: int, channels: int) -> Iterable[torch.Tensor]:
    """Read a file block by block, down-mixed (when the codec is mono) and resampled by a soxr stream.

    The result equals `codeckit.audio.read_audio(path, sample_rate)` sample for sample.
    """
    p = Path(path)
    with sf.SoundFile(str(p)) as f:
        if channels != 1 and f.channels != channels:
            raise AudioError(f"{p}: has {f.channels} channels; this codec takes {channels}")
        stream = soxr.ResampleStream(f.samplerate, sample_rate, channels, dtype="float32", quality="HQ")
        resample = f.samplerate != sample_rate
        total = 0
        for block in f.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True):
            if not np.isfinite(block).all():
                raise AudioError(f"{p}: audio contains NaN or Inf samples")
            data = block.mean(axis=1, keepdims=True) if channels == 1 else block
            if resample:
                data = stream.resample_chunk(data, last=False)
            total += len(data)
            if len(data):
                yield torch.from_numpy(np.ascontiguousarray(data.T, dtype=np.float32))
        if resample:
            data = stream.resample_chunk(np.zeros((0, channels), np.float32), last=True)
            total += len(data)
            if len(data):
                yield torch.from_numpy(np.ascontiguousarray(data.T, dtype=np.float32))
        if total == 0:
            raise AudioError(f"{p}: zero-length audio")
