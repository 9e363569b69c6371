"""One small interface over the two ways codeckit decodes codes to audio, for the LM stream decoder.

A backend declares the codec (rate, channels, hops, codebook sizes, `pad_multiple`, whether it is causal,
the fewest samples one decode takes) and offers `decode(codes) -> audio`, an offline pass over whole
codec groups, and for causal codecs `stepper()`, an exact streaming decoder with carried state. Codes are
int64 numpy arrays `(1, frames_l)` per level; audio is float32 numpy `(channels, samples)`.

- `TorchBackend` wraps a `codeckit.codecs.Codec` (or what `codeckit.load` returns). Its decoder's
  NoiseBlocks are switched off during its calls by default, as in ONNX exports, so both runners agree and
  windows decode what one offline pass decodes.
- `OnnxBackend` wraps the torch-free runner `codeckit.export.runner.OnnxCodec` (`decoder.onnx`, and
  `decoder_step.onnx` for causal codecs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from codeckit.errors import CodeckitError


class Stepper(Protocol):
    """Exact streaming decoder of a causal codec: whole groups in, their audio out."""

    def push(self, codes: list[np.ndarray]) -> np.ndarray: ...
    def flush(self) -> np.ndarray: ...
    def close(self) -> None: ...


class Backend(Protocol):
    """What the LM stream decoder needs from a codec runner (see the module docstring)."""

    sample_rate: int
    channels: int
    hop_lengths: list[int]
    codebook_sizes: list[int]
    pad_multiple: int
    causal: bool
    min_samples: int
    name: str

    def decode(self, codes: list[np.ndarray]) -> np.ndarray: ...
    def stepper(self) -> Stepper: ...


class TorchBackend:
    """A PyTorch codec as a backend; `noise="keep"` leaves the decoder's NoiseBlocks as they are."""

    name = "pytorch"

    def __init__(self, codec: Any, noise: str = "off"):
        from codeckit.nn.streaming import streams_exactly

        self.codec = getattr(codec, "codec", codec)  # a CodecModel from codeckit.load, or a Codec
        if noise not in ("off", "keep"):
            raise CodeckitError(f"noise must be 'off' or 'keep', got {noise!r}")
        self.noise = noise
        self.sample_rate, self.channels = int(self.codec.sample_rate), int(self.codec.channels)
        self.hop_lengths, self.codebook_sizes = list(self.codec.hop_lengths), list(self.codec.codebook_sizes)
        self.pad_multiple = int(self.codec.pad_multiple)
        self.causal = streams_exactly(self.codec.decoder)
        self.min_samples = self.pad_multiple

    @contextmanager
    def _running(self) -> Iterator[None]:
        """No gradients, and the decoder's noise off (restored after) unless `noise="keep"`."""
        import torch

        from codeckit.nn.noise import NoiseBlock

        blocks = [m for m in self.codec.decoder.modules() if isinstance(m, NoiseBlock)] if self.noise == "off" else []
        saved = [b.eval_noise for b in blocks]
        for b in blocks:
            b.eval_noise = "off"
        try:
            with torch.inference_mode():
                yield
        finally:
            for b, mode in zip(blocks, saved):
                b.eval_noise = mode

    def _tensors(self, codes: Sequence[np.ndarray]) -> list[Any]:
        import torch

        device = next(self.codec.parameters()).device
        return [torch.from_numpy(np.ascontiguousarray(c, dtype=np.int64)).to(device) for c in codes]

    def decode(self, codes: list[np.ndarray]) -> np.ndarray:
        """Offline decode of whole groups -> `(channels, samples)`."""
        with self._running():
            return self.codec.decode(self._tensors(codes))[0].float().cpu().numpy()

    def stepper(self) -> _TorchStepper:
        if not self.causal:
            raise CodeckitError("the codec's decoder is not causal, so it cannot stream exactly")
        return _TorchStepper(self)


class _TorchStepper:
    """One stream through the decoder's streaming layers; the state is swapped in and out around each push,
    so the codec stays usable offline (and by other streams) in between."""

    def __init__(self, backend: TorchBackend):
        self.backend = backend
        self.state: dict[str, Any] | None = None

    def push(self, codes: list[np.ndarray]) -> np.ndarray:
        from codeckit.nn.streaming import get_streaming_state, set_streaming_state, start_streaming, stop_streaming

        codec = self.backend.codec
        start_streaming(codec.decoder, 1)
        try:
            if self.state is not None:
                set_streaming_state(codec.decoder, self.state)
            with self.backend._running():
                audio = codec.decoder(codec.quantizer.decode(self.backend._tensors(codes)))
            self.state = get_streaming_state(codec.decoder)
        finally:
            stop_streaming(codec.decoder)
        return audio[0].float().cpu().numpy()

    def flush(self) -> np.ndarray:
        return np.zeros((self.backend.channels, 0), np.float32)

    def close(self) -> None:
        self.state = None


class OnnxBackend:
    """An exported codec run by onnxruntime (`OnnxCodec`, or its export directory) as a backend."""

    name = "onnx"

    def __init__(self, codec: Any, threads: int = 1):
        from codeckit.export.runner import OnnxCodec

        self.codec = codec if isinstance(codec, OnnxCodec) else OnnxCodec(codec, threads=threads)
        c = self.codec
        self.sample_rate, self.channels = c.sample_rate, c.channels
        self.hop_lengths, self.codebook_sizes = c.hop_lengths, c.codebook_sizes
        self.pad_multiple, self.causal = c.pad_multiple, c.causal
        self.min_samples = int(c.graph("decoder").meta["codec"]["min_samples"])

    def decode(self, codes: list[np.ndarray]) -> np.ndarray:
        return self.codec.decode(codes)[0]

    def stepper(self) -> _OnnxStepper:
        return _OnnxStepper(self.codec.stream_decoder(1, chunk_samples=self.pad_multiple))


class _OnnxStepper:
    """The runner's exact step-graph stream (`DecoderStream`): its first step may wait for a longer chunk."""

    def __init__(self, stream: Any):
        self.stream = stream

    def push(self, codes: list[np.ndarray]) -> np.ndarray:
        return self.stream.push(codes)[0]

    def flush(self) -> np.ndarray:
        return self.stream.flush()[0]

    def close(self) -> None:
        self.stream.reset()


def as_backend(codec: Any) -> Backend:
    """A backend for `codec`: a Codec or `codeckit.load` result (PyTorch), an `OnnxCodec`, or a backend."""
    if hasattr(codec, "decode") and hasattr(codec, "stepper") and hasattr(codec, "min_samples"):
        return codec
    from codeckit.export.runner import OnnxCodec

    if isinstance(codec, OnnxCodec):
        return OnnxBackend(codec)
    if hasattr(getattr(codec, "codec", codec), "quantizer"):
        return TorchBackend(codec)
    raise CodeckitError(f"cannot decode with a {type(codec).__name__}: give a Codec, a loaded model or an OnnxCodec")
