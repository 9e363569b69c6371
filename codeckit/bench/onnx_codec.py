"""Leaderboard codec `onnx:EXPORT_DIR`: an exported codec (`codeckit export`, any `--precision`) run by the torch-free
onnxruntime runner, one intra-op thread, so fp32, fp16 and int8 graphs are scored and timed side by side."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from codeckit.bench.codecs import CodecRun, SpecDeclared
from codeckit.bench.specs import CodecEntry, SpecError
from codeckit.chunking import round_up
from codeckit.errors import CodeckitError


def _hash_export(path: Path) -> str:
    h = hashlib.sha256()
    for name in ("encoder.onnx", "decoder.onnx"):
        with open(path / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def parse_onnx_spec(text: str, name: str | None, arg: str) -> CodecEntry:
    """`[NAME=]onnx:DIR` -> CodecEntry (kind "onnx"), after checking DIR holds a loadable export with both graphs;
    the default name is the folder's name and its precision, e.g. `onnx_int8-int8`."""
    from codeckit.export.precision import export_precision
    from codeckit.export.runner import OnnxCodec

    path = Path(arg)
    missing = [f for f in ("encoder.onnx", "decoder.onnx") if not (path / f).is_file()]
    if missing:
        raise SpecError(f"codec spec '{text}': {path} has no {' or '.join(missing)}; run 'codeckit export' into it")
    try:
        OnnxCodec(path)
        precision = export_precision(path)["decoder"].replace(" ", "-")
    except CodeckitError as e:
        raise SpecError(f"codec spec '{text}': {e}") from None
    return CodecEntry(name or f"{path.resolve().name}-{precision}", "onnx", str(path), f"onnx:{_hash_export(path)}")


class OnnxRunner(SpecDeclared):
    """An export directory, loaded once per process: the leaderboard's interface over `OnnxCodec`."""

    def __init__(self, export_dir: str, threads: int = 1):
        from codeckit.export.runner import OnnxCodec

        self.codec = OnnxCodec(export_dir, threads=threads)
        self._declare(self.codec.spec)

    def _audio(self, mono: np.ndarray) -> np.ndarray:
        x = np.repeat(np.asarray(mono, np.float32).reshape(1, 1, -1), self.spec.channels, axis=1)
        short = self.codec.min_samples - x.shape[-1]
        return np.pad(x, ((0, 0), (0, 0), (0, short))) if short > 0 else x

    def run(self, audio: torch.Tensor) -> CodecRun:
        """Mono `(1, T)` at `sample_rate` through the graphs (repeated to the codec's channel count)."""
        n = audio.shape[-1]
        x = self._audio(audio[0].numpy())
        t0 = time.perf_counter()
        codes = self.codec.encode(x)
        t1 = time.perf_counter()
        y = self.codec.decode(codes, length=n)
        t2 = time.perf_counter()
        bitrate = self.spec.bitrate()
        bits = bitrate * round_up(n, self.spec.pad_multiple) / self.sample_rate
        decoded = torch.from_numpy(y[0].mean(0, keepdims=True).astype(np.float32))
        return CodecRun(decoded, bits, bitrate, t1 - t0, t2 - t1, [c[0].astype(np.int64) for c in codes])

    def tokens(self, audio: np.ndarray) -> list[np.ndarray]:
        """Mono `(samples,)` float32 at `sample_rate` -> one 1-D int64 array of codes per level."""
        return [c[0].astype(np.int64) for c in self.codec.encode(self._audio(audio))]
