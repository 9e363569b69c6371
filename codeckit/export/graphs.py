"""Trace-friendly wrappers around a codec's parts: what the ONNX graphs compute, in plain tensor ops.

The codec's own `encode` / `decode` check codes and chunk the nearest-code search in Python, which a trace
would freeze; these wrappers do the same arithmetic with every length taken from tensor shapes:
- `QuantizerGraph`: the quantizer's own traceable `export_encode` / `export_decode` (`codeckit.quantizers.base`);
  a quantizer without them raises ExportError before anything is traced.
- `EncoderGraph` / `DecoderGraph`: offline audio -> codes and codes -> audio.
- `EncoderStepGraph` / `DecoderStepGraph`: one streaming step, states in and out (`codeckit.nn.streaming`).
`prepare_for_export` makes the eval-mode copy they wrap: weight norm folded, decoder noise off, and Snake
written without `Pow` and reshapes (fewer onnxruntime kernels, same arithmetic).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from codeckit.codecs.base import Codec
from codeckit.export.errors import ExportError
from codeckit.nn.noise import NoiseBlock
from codeckit.nn.snake import Snake
from codeckit.nn.streaming import get_streaming_state, set_streaming_state
from codeckit.quantizers.base import Quantizer
from codeckit.quantizers.errors import QuantizerError


def fold_weight_norm(module: nn.Module) -> int:
    """Replace every parametrized weight inside `module` by its current value, in place; returns how many.

    Safe on a deep copy: the original module keeps its parametrizations.
    """
    n = 0
    for sub in module.modules():
        if parametrize.is_parametrized(sub):
            # torch deletes the weight property from the module's class, which a deep copy shares with the
            # original: give this module a class of its own first
            cls = type(sub)
            own = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__")}
            sub.__class__ = type(cls.__name__, cls.__bases__, own)
            for name in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
                n += 1
    return n


class FastSnake(nn.Module):
    """Snake, x + sin(alpha x)^2 / alpha, as Mul, Sin, Mul, Mul, Add on (B, C, T) (no Pow, no reshapes)."""

    pointwise = True  # frame by frame: lookahead streams pass it through (`codeckit.nn.lookahead`)

    def __init__(self, snake: Snake):
        super().__init__()
        alpha = snake.alpha.detach().clone()
        self.register_buffer("alpha", alpha)
        self.register_buffer("inv", (alpha + 1e-9).reciprocal())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sin(self.alpha * x)
        return x + self.inv * (s * s)


def _swap_fast_layers(model: nn.Module) -> None:
    for sub in list(model.modules()):
        for child_name, child in list(sub.named_children()):
            if isinstance(child, Snake) and child.alpha.dim() == 3:
                setattr(sub, child_name, FastSnake(child))


def prepare_for_export(codec: Codec) -> Codec:
    """An eval-mode deep copy of `codec` with weight norm folded, every decoder NoiseBlock off (deterministic),
    `FastSnake` in place of Snake and the quantizer's export tables precomputed (`Quantizer.prepare_export`)."""
    out = copy.deepcopy(codec).eval()
    fold_weight_norm(out)
    out.quantizer.prepare_export()
    for m in out.modules():
        if isinstance(m, NoiseBlock):
            m.eval_noise = "off"
    _swap_fast_layers(out)
    for p in out.parameters():
        p.requires_grad_(False)
    return out


class QuantizerGraph(nn.Module):
    """The first `n_levels` levels of a prepared codec's quantizer (`prepare_for_export`), through its traceable
    `export_encode` / `export_decode`."""

    def __init__(self, quantizer: Quantizer, n_levels: int):
        super().__init__()
        self.quantizer = quantizer
        self.n_levels = int(n_levels)
        _check_exportable(quantizer, self.n_levels)

    def encode(self, latents: torch.Tensor) -> list[torch.Tensor]:
        """(B, dim, T) latents -> codes of the first `n_levels` levels."""
        return self.quantizer.export_encode(latents, self.n_levels)

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        """Codes of the first `n_levels` levels -> (B, dim, T) latents."""
        return self.quantizer.export_decode(codes)


def _check_exportable(quantizer: Quantizer, n_levels: int) -> None:
    """Raise the quantizer's ExportError now, before anything is traced or written, by one untraced round trip."""
    latents = torch.zeros(1, quantizer.dim, max(quantizer.strides))
    try:
        with torch.no_grad():
            quantizer.export_decode(quantizer.export_encode(latents, n_levels))
    except QuantizerError as e:
        raise ExportError(f"quantizer '{type(quantizer).__name__}' cannot export {n_levels} levels: {e}") from None


class EncoderGraph(nn.Module):
    """Audio (B, C, T) -> codes per level; pads with zeros to the codec's multiple like `Codec.encode`."""

    def __init__(self, codec: Codec, n_levels: int):
        super().__init__()
        self.encoder = codec.encoder
        self.quantizer = QuantizerGraph(codec.quantizer, n_levels)
        self.pad_multiple = int(codec.pad_multiple)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        extra = (-audio.shape[-1]) % self.pad_multiple
        return tuple(self.quantizer.encode(self.encoder(F.pad(audio, (0, extra)))))


class DecoderGraph(nn.Module):
    """Codes per level -> audio (B, C, frames_0 * hop_0), untrimmed like `Codec.decode` without a length."""

    def __init__(self, codec: Codec, n_levels: int):
        super().__init__()
        self.decoder = codec.decoder
        self.quantizer = QuantizerGraph(codec.quantizer, n_levels)

    def forward(self, *codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.quantizer.decode(list(codes)))


class EncoderStepGraph(nn.Module):
    """(audio chunk, *states) -> (*codes, *next states); the encoder must be streaming (states named `names`)."""

    def __init__(self, codec: Codec, n_levels: int, names: list[str]):
        super().__init__()
        self.encoder = codec.encoder
        self.quantizer = QuantizerGraph(codec.quantizer, n_levels)
        self.names = list(names)

    def forward(self, audio: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        set_streaming_state(self.encoder, dict(zip(self.names, states)))
        codes = self.quantizer.encode(self.encoder(audio))
        new = get_streaming_state(self.encoder)
        return (*codes, *(new[n] for n in self.names))


class DecoderStepGraph(nn.Module):
    """(*codes chunk, *states) -> (audio, *next states); the decoder must be streaming (states named `names`)."""

    def __init__(self, codec: Codec, n_levels: int, names: list[str]):
        super().__init__()
        self.decoder = codec.decoder
        self.quantizer = QuantizerGraph(codec.quantizer, n_levels)
        self.n_levels = int(n_levels)
        self.names = list(names)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        codes, states = list(inputs[: self.n_levels]), inputs[self.n_levels :]
        set_streaming_state(self.decoder, dict(zip(self.names, states)))
        audio = self.decoder(self.quantizer.decode(codes))
        new = get_streaming_state(self.decoder)
        return (audio, *(new[n] for n in self.names))


class LookaheadEncoderStepGraph(nn.Module):
    """(audio chunk, end, *states) -> (*codes, *next states) of a streaming lookahead encoder stack
    (`codeckit.nn.lookahead`); codes come `stack.delay` latent frames late."""

    def __init__(self, stack: nn.Module, quantizer: Quantizer, n_levels: int, names: list[str]):
        super().__init__()
        self.stack = stack
        self.quantizer = QuantizerGraph(quantizer, n_levels)
        self.names = list(names)

    def forward(self, audio: torch.Tensor, end: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        set_streaming_state(self.stack, dict(zip(self.names, states)))
        codes = self.quantizer.encode(self.stack(audio, end))
        new = get_streaming_state(self.stack)
        return (*codes, *(new[n] for n in self.names))


class LookaheadDecoderStepGraph(nn.Module):
    """(*codes chunk, end, *states) -> (audio, *next states) of a streaming lookahead decoder stack; the audio
    comes `stack.delay` samples late."""

    def __init__(self, stack: nn.Module, quantizer: Quantizer, n_levels: int, names: list[str]):
        super().__init__()
        self.stack = stack
        self.quantizer = QuantizerGraph(quantizer, n_levels)
        self.n_levels = int(n_levels)
        self.names = list(names)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        codes, end, states = list(inputs[: self.n_levels]), inputs[self.n_levels], inputs[self.n_levels + 1 :]
        set_streaming_state(self.stack, dict(zip(self.names, states)))
        audio = self.stack(self.quantizer.decode(codes), end)
        new = get_streaming_state(self.stack)
        return (audio, *(new[n] for n in self.names))
