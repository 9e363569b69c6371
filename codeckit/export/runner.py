"""Run an exported codec with onnxruntime alone: offline encode / decode and streaming sessions.

Imports only numpy, onnxruntime and torch-free codeckit modules, so it runs where torch is not installed.
Everything it needs (rates, hops, codebooks, state names / shapes / initial values, chunk sizes) comes
from the graphs' metadata (`codeckit.export.metadata`).

    codec = OnnxCodec("exported/", threads=1)
    codes = codec.encode(audio)                        # audio (B, C, T) float32 -> [(B, frames_l) int64]
    audio = codec.decode(codes, length=T)
    enc, dec = codec.stream_encoder(batch=1), codec.stream_decoder(batch=1)
    for chunk in chunks:                               # any lengths
        out = dec.push(enc.push(chunk))                # codes as soon as a step is full; audio for them
    out = dec.push(enc.flush()) + dec.flush()

Causal codecs (`causal` in the metadata) stream with the step graphs: the concatenated codes and audio
equal one offline pass. Non-causal SNAC exports have lookahead step graphs (`codeckit.export.lookahead`):
every layer caches its context and the stream equals one offline pass, `delay_samples` late. Other codecs,
or any non-causal codec asked for a `context_samples`, stream by overlap-save with the offline graphs: each
chunk is coded with `context_samples` of signal (or codes) on both sides and only its own part kept; the lookahead, and
so the added latency, is the context. The default context covers the model's receptive field. The stream
classes live in `codeckit.export.streams` (importable from here too).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from codeckit.codec_spec import CodecSpec
from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.export.lookahead_streams import LookaheadDecoderStream, LookaheadEncoderStream
from codeckit.export.streams import DecoderStream, EncoderStream, OverlapDecoderStream, OverlapEncoderStream

__all__ = [
    "DecoderStream",
    "EncoderStream",
    "Graph",
    "LookaheadDecoderStream",
    "LookaheadEncoderStream",
    "OnnxCodec",
    "OverlapDecoderStream",
    "OverlapEncoderStream",
    "session_options",
]
_ORT_TYPES = {"tensor(float)": np.dtype(np.float32), "tensor(bool)": np.dtype(np.bool_),
              "tensor(int64)": np.dtype(np.int64)}  # fmt: skip


def session_options(threads: int = 1) -> ort.SessionOptions:
    """onnxruntime options: `threads` intra-op threads, sequential execution, all graph optimizations."""
    if int(threads) < 1:
        raise ExportError(f"threads must be >= 1, got {threads}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return opts


class Graph:
    """One exported graph: its onnxruntime session and its metadata."""

    def __init__(self, path: Path, options: ort.SessionOptions, providers: Sequence[str]):
        try:
            self.session = ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
        except Exception as e:  # onnxruntime raises its own exception types
            raise ExportError(f"{path}: onnxruntime cannot load it ({' '.join(str(e).split())})") from None
        text = self.session.get_modelmeta().custom_metadata_map.get(md.KEY)
        if text is None:
            raise ExportError(f"{path}: no '{md.KEY}' metadata; export it with 'codeckit export'")
        self.meta = md.loads(text, str(path))
        self.path = path
        self.inputs = {i.name: i for i in self.session.get_inputs()}

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The graph's outputs by name for checked `feeds`; onnxruntime's failures become one-line ExportErrors."""
        self.check_feeds(feeds)
        outputs = self.meta["outputs"]
        try:
            return dict(zip(outputs, self.session.run(outputs, feeds)))
        except Exception as e:  # onnxruntime's own exception types; the first line says what failed
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ExportError(f"{self.path.name}: onnxruntime failed: {first}") from None

    def check_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        """Every graph input fed once, with its dtype, its rank and its fixed sizes; one ExportError naming the
        input otherwise (onnxruntime's own messages do not say which state of a step graph is wrong)."""
        missing = sorted(set(self.inputs) - set(feeds))
        unknown = sorted(set(feeds) - set(self.inputs))
        if missing or unknown:
            raise ExportError(f"{self.path.name}: inputs missing {missing}, unexpected {unknown}")
        for name, arg in self.inputs.items():
            x = feeds[name]
            want = _ORT_TYPES.get(arg.type)
            if not isinstance(x, np.ndarray) or (want is not None and x.dtype != want):
                got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
                raise ExportError(f"{self.path.name}: input '{name}' must be a {want} array, got {got}")
            shape = list(arg.shape)
            fixed = [d if isinstance(d, int) else None for d in shape]
            if x.ndim != len(shape) or any(f is not None and f != n for f, n in zip(fixed, x.shape)):
                want_shape = tuple(d if isinstance(d, int) else str(d) for d in shape)
                raise ExportError(f"{self.path.name}: input '{name}' must have shape {want_shape}, got {x.shape}")


class OnnxCodec:
    """An exported codec directory: `encode`, `decode`, `stream_encoder`, `stream_decoder`."""

    def __init__(
        self,
        export_dir: str | os.PathLike,
        threads: int = 1,
        providers: Sequence[str] = ("CPUExecutionProvider",),
    ):
        self.dir = Path(export_dir)
        if not (self.dir / md.FILES["encoder"]).is_file() and not (self.dir / md.FILES["decoder"]).is_file():
            raise ExportError(f"{self.dir}: no {md.FILES['encoder']} or {md.FILES['decoder']}; run 'codeckit export'")
        self.options = session_options(threads)
        self.providers = tuple(providers)
        self._graphs: dict[str, Graph] = {}
        any_graph = self.graph("encoder" if (self.dir / md.FILES["encoder"]).is_file() else "decoder")
        self.declaration: dict[str, Any] = any_graph.meta["codec"]
        try:
            self.spec = CodecSpec.from_dict(self.declaration)
        except (KeyError, TypeError, ValueError) as e:
            raise ExportError(f"{any_graph.path}: bad codec declaration in the metadata ({e!r})") from None

    def graph(self, name: str) -> Graph:
        """The loaded graph `name` (encoder, decoder, encoder_step, decoder_step), loaded on first use."""
        if name not in self._graphs:
            path = self.dir / md.FILES[name]
            if not path.is_file():
                why = " (this export has no step graphs)" if name.endswith("_step") else ""
                raise ExportError(f"{path} does not exist{why}")
            self._graphs[name] = Graph(path, self.options, self.providers)
        return self._graphs[name]

    # -- declaration --------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        """The codec's sample rate (Hz)."""
        return self.spec.sample_rate

    @property
    def channels(self) -> int:
        """Audio channels the codec takes."""
        return self.spec.channels

    @property
    def hop_lengths(self) -> list[int]:
        """Samples per code, per exported level."""
        return list(self.spec.hop_lengths)

    @property
    def codebook_sizes(self) -> list[int]:
        """Codebook size per exported level."""
        return list(self.spec.codebook_sizes)

    @property
    def n_levels(self) -> int:
        """Exported levels."""
        return self.spec.n_levels

    @property
    def pad_multiple(self) -> int:
        """Inputs are coded in multiples of this many samples."""
        return self.spec.pad_multiple

    @property
    def min_samples(self) -> int:
        """Shortest input the offline encoder takes."""
        return int(self.declaration["min_samples"])

    @property
    def causal(self) -> bool:
        """Whether step graphs exist and stream exactly."""
        return bool(self.declaration["causal"])

    @property
    def lookahead(self) -> bool:
        """Whether a non-causal export has lookahead step graphs (exact streams, late by their delay)."""
        return not self.causal and all((self.dir / md.FILES[g]).is_file() for g in ("encoder_step", "decoder_step"))

    @property
    def chunk_samples(self) -> int:
        """The declared streaming step (samples)."""
        return int(self.declaration["chunk_samples"])

    @property
    def context_samples(self) -> int:
        """Default overlap-save context (samples) of a non-causal codec: its receptive field, rounded up."""
        return int(self.declaration["context_samples"])

    # -- offline ------------------------------------------------------------------------------
    def encode(self, audio: np.ndarray, n_quantizers: int | None = None) -> list[np.ndarray]:
        """Audio `(B, C, T)` (or `(C, T)`, `(T,)`) float -> codes, one int64 `(B, frames_l)` array per level."""
        x = self.as_audio(audio)
        if x.shape[-1] < self.min_samples:
            raise ExportError(
                f"audio of {x.shape[-1]} samples is shorter than this export's minimum {self.min_samples}"
            )
        out = self.graph("encoder").run({md.AUDIO: x})
        n = self.spec.check_n_quantizers(n_quantizers, ExportError)
        return [out[md.code_name(i)] for i in range(n)]

    def decode(self, codes: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
        """Codes (one `(B, frames_l)` array per level, all levels) -> audio `(B, C, T)`, trimmed to `length`."""
        codes = self.check_codes(codes)
        if codes[0].shape[1] * self.hop_lengths[0] < int(self.graph("decoder").meta["codec"]["min_samples"]):
            raise ExportError(f"{codes[0].shape[1]} level-0 frames are fewer than this export decodes")
        audio = self.graph("decoder").run({md.code_name(i): c for i, c in enumerate(codes)})[md.AUDIO]
        return audio[..., :length] if length is not None else audio

    # -- streaming ----------------------------------------------------------------------------
    def stream_encoder(
        self, batch: int = 1, chunk_samples: int | None = None, context_samples: int | None = None
    ) -> EncoderStream | OverlapEncoderStream:
        """A streaming encoder for `batch` streams: exact step graphs when causal, lookahead step graphs when the
        export has them and no `context_samples` is asked for, else overlap-save with that context."""
        if self.causal:
            if context_samples:
                raise ExportError("a causal codec streams exactly with its step graphs; it takes no context")
            return EncoderStream(self, batch, chunk_samples)
        if context_samples is None and self.lookahead:
            return LookaheadEncoderStream(self, batch, chunk_samples)
        return OverlapEncoderStream(self, batch, chunk_samples, context_samples)

    def stream_decoder(
        self, batch: int = 1, chunk_samples: int | None = None, context_samples: int | None = None
    ) -> DecoderStream | OverlapDecoderStream:
        """A streaming decoder for `batch` streams: as `stream_encoder` chooses."""
        if self.causal:
            if context_samples:
                raise ExportError("a causal codec streams exactly with its step graphs; it takes no context")
            return DecoderStream(self, batch, chunk_samples)
        if context_samples is None and self.lookahead:
            return LookaheadDecoderStream(self, batch, chunk_samples)
        return OverlapDecoderStream(self, batch, chunk_samples, context_samples)

    # -- checks -------------------------------------------------------------------------------
    def as_audio(self, audio: np.ndarray, batch: int | None = None) -> np.ndarray:
        """`audio` as a contiguous float32 `(B, C, T)` array; `(T,)` and `(C, T)` are one item."""
        x = np.asarray(audio)
        if not np.issubdtype(x.dtype, np.floating):
            raise ExportError(f"audio must be a float array, got {x.dtype}")
        if x.ndim == 1:
            x = x[None, None]
        elif x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1] != self.channels or (batch is not None and x.shape[0] != batch):
            b = "batch" if batch is None else batch
            raise ExportError(f"audio must be ({b}, {self.channels}, samples), got {tuple(np.shape(audio))}")
        with np.errstate(over="ignore"):  # beyond float32's range: Inf, refused just below
            x = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise ExportError("audio contains NaN or Inf samples")
        return x

    def check_codes(
        self, codes: Sequence[np.ndarray], batch: int | None = None, whole: bool = True
    ) -> list[np.ndarray]:
        """Codes as int64 arrays after checking levels, shapes, spans and ranges (`whole`: full codec groups)."""
        if not isinstance(codes, (list, tuple)) or len(codes) != self.n_levels:
            n = len(codes) if isinstance(codes, (list, tuple)) else type(codes).__name__
            raise ExportError(f"expected a list of {self.n_levels} code arrays (one per exported level), got {n}")
        out = []
        span = None
        for i, (c, size, hop) in enumerate(zip(codes, self.codebook_sizes, self.hop_lengths)):
            c = np.asarray(c)
            if c.ndim != 2 or not np.issubdtype(c.dtype, np.integer):
                raise ExportError(
                    f"codes of level {i} must be an integer (batch, frames) array, got {c.dtype} {c.shape}"
                )
            if (batch is not None and c.shape[0] != batch) or c.shape[0] != np.shape(codes[0])[0]:
                raise ExportError(
                    f"codes of level {i} have batch {c.shape[0]}, expected {batch or np.shape(codes[0])[0]}"
                )
            if c.size and (int(c.min()) < 0 or int(c.max()) >= size):
                raise ExportError(f"codes of level {i} must lie in [0, {size}), got [{int(c.min())}, {int(c.max())}]")
            if span is None:
                span = c.shape[1] * hop
            elif c.shape[1] * hop != span:
                raise ExportError(f"level {i} has {c.shape[1]} frames, which does not cover level 0's {span} samples")
            out.append(np.ascontiguousarray(c, dtype=np.int64))
        if whole and span % self.pad_multiple:
            raise ExportError(f"codes cover {span} samples, not a multiple of the codec's {self.pad_multiple}")
        return out
