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
equal one offline pass. Other codecs stream by overlap-save with the offline graphs: each chunk is coded
with `context_samples` of signal (or codes) on both sides and only its own part kept; the lookahead, and
so the added latency, is the context. The default context covers the model's receptive field.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from codeckit.export import metadata as md
from codeckit.export.errors import ExportError

_NP = {"float32": np.float32, "bool": np.bool_, "int64": np.int64}
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
        any_graph = "encoder" if (self.dir / md.FILES["encoder"]).is_file() else "decoder"
        self.declaration: dict[str, Any] = self.graph(any_graph).meta["codec"]

    def graph(self, name: str) -> Graph:
        """The loaded graph `name` (encoder, decoder, encoder_step, decoder_step), loaded on first use."""
        if name not in self._graphs:
            path = self.dir / md.FILES[name]
            if not path.is_file():
                why = " (the codec is not causal, so it has no step graphs)" if name.endswith("_step") else ""
                raise ExportError(f"{path} does not exist{why}")
            self._graphs[name] = Graph(path, self.options, self.providers)
        return self._graphs[name]

    # -- declaration --------------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return int(self.declaration["sample_rate"])

    @property
    def channels(self) -> int:
        return int(self.declaration["channels"])

    @property
    def hop_lengths(self) -> list[int]:
        return [int(h) for h in self.declaration["hop_lengths"]]

    @property
    def codebook_sizes(self) -> list[int]:
        return [int(s) for s in self.declaration["codebook_sizes"]]

    @property
    def n_levels(self) -> int:
        return int(self.declaration["n_levels"])

    @property
    def pad_multiple(self) -> int:
        return int(self.declaration["pad_multiple"])

    @property
    def min_samples(self) -> int:
        return int(self.declaration["min_samples"])

    @property
    def causal(self) -> bool:
        return bool(self.declaration["causal"])

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
        n = self._n(n_quantizers)
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
        """A streaming encoder for `batch` streams: exact step graphs when causal, else overlap-save."""
        if self.causal:
            if context_samples:
                raise ExportError("a causal codec streams exactly with its step graphs; it takes no context")
            return EncoderStream(self, batch, chunk_samples)
        return OverlapEncoderStream(self, batch, chunk_samples, context_samples)

    def stream_decoder(
        self, batch: int = 1, chunk_samples: int | None = None, context_samples: int | None = None
    ) -> DecoderStream | OverlapDecoderStream:
        """A streaming decoder for `batch` streams: exact step graphs when causal, else overlap-save."""
        if self.causal:
            if context_samples:
                raise ExportError("a causal codec streams exactly with its step graphs; it takes no context")
            return DecoderStream(self, batch, chunk_samples)
        return OverlapDecoderStream(self, batch, chunk_samples, context_samples)

    # -- checks -------------------------------------------------------------------------------
    def _n(self, n_quantizers: int | None) -> int:
        if n_quantizers is None:
            return self.n_levels
        if not 1 <= int(n_quantizers) <= self.n_levels:
            raise ExportError(f"n_quantizers must be in 1..{self.n_levels}, got {n_quantizers}")
        return int(n_quantizers)

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


def _check_chunk(codec: OnnxCodec, chunk: int | None, default: int) -> int:
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

    def clear(self) -> None:
        self.parts = None


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
        have = self.buffer.samples
        if final:
            return have
        need = self.chunk if self.started else self.first
        if have < need:
            return 0
        return have // self.chunk * self.chunk

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

    def _windows(self, final: bool) -> list[tuple[int, int, int, int]]:
        """(window start, window end, keep start, keep end) in absolute samples for every chunk ready now."""
        end = self.start + self.buffer.samples
        out = []
        while self.pos < end:
            stop = self.pos + self.chunk
            if not final and stop + self.context > end:
                break
            stop = min(stop, end)
            out.append((max(0, self.pos - self.context), min(end, stop + self.context), self.pos, stop))
            self.pos = stop
        return out

    def _trim(self) -> None:
        keep_from = max(self.start, self.pos - self.context)
        self.buffer.drop(keep_from - self.start)
        self.start = keep_from


class OverlapEncoderStream(_OverlapStream):
    """Streaming encoder for non-causal codecs by overlap-save (`context` samples of lookahead)."""

    def _new_buffer(self) -> _Buffer:
        return _Buffer([1])

    def push(self, audio: np.ndarray) -> list[np.ndarray]:
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
        for lo, hi, s, e in self._windows(final):
            (audio,) = self.buffer.peek(lo - self.start, hi - self.start)
            codes = self.codec.encode(audio)
            for level, (c, hop) in enumerate(zip(codes, self.codec.hop_lengths)):
                parts[level].append(c[:, (s - lo) // hop : (e - lo) // hop])
        self._trim()
        return [np.concatenate(p, axis=1) if p else np.zeros((self.batch, 0), np.int64) for p in parts]


class OverlapDecoderStream(_OverlapStream):
    """Streaming decoder for non-causal codecs by overlap-save (`context` samples of lookahead, in codes)."""

    def _new_buffer(self) -> _Buffer:
        return _Buffer(self.codec.hop_lengths)

    def push(self, codes: Sequence[np.ndarray]) -> np.ndarray:
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
        for lo, hi, s, e in self._windows(final):
            # whole groups only: a window's codes must be decodable on their own
            codes = self.buffer.peek(lo - self.start, hi - self.start)
            audio = self.codec.decode(codes)
            parts.append(audio[..., s - lo : e - lo])
        self._trim()
        if not parts:
            return np.zeros((self.batch, self.codec.channels, 0), np.float32)
        return np.concatenate(parts, axis=-1)
