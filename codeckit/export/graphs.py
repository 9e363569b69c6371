"""Trace-friendly wrappers around a codec's parts: what the ONNX graphs compute, in plain tensor ops.

The codec's own `encode` / `decode` check codes and chunk the nearest-code search in Python, which a trace
would freeze; these wrappers do the same arithmetic with every length taken from tensor shapes:
- `QuantizerGraph`: residual (multi-scale) encode and decode over `vq`, `simvq` and `fsq` levels. The
  nearest-code search is the same `addmm` as `codeckit.quantizers.common.nearest`, unchunked.
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
from codeckit.quantizers.fsq import FSQ
from codeckit.quantizers.simvq import SimVQ
from codeckit.quantizers.vq import VectorQuantizer


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
    """An eval-mode deep copy of `codec` with weight norm folded, every decoder NoiseBlock off (deterministic)
    and `FastSnake` in place of Snake."""
    out = copy.deepcopy(codec).eval()
    fold_weight_norm(out)
    for m in out.modules():
        if isinstance(m, NoiseBlock):
            m.eval_noise = "off"
    _swap_fast_layers(out)
    for p in out.parameters():
        p.requires_grad_(False)
    return out


def _down(x: torch.Tensor, stride: int) -> torch.Tensor:
    return x if stride == 1 else F.avg_pool1d(x, stride, stride)


def _up(x: torch.Tensor, stride: int) -> torch.Tensor:
    if stride == 1:
        return x
    return x.unsqueeze(-1).expand(-1, -1, -1, stride).reshape(x.shape[0], x.shape[1], -1)


class _Level(nn.Module):
    """One codebook's encode (B, D, T) -> (B, T) and decode (B, T) -> (B, D, T)."""

    def __init__(self, level: nn.Module):
        super().__init__()
        self.level = level
        self.kind = "fsq" if isinstance(level, FSQ) else "nearest"
        if isinstance(level, VectorQuantizer):
            self.in_proj, self.out_proj, cosine = level.in_proj, level.out_proj, level.l2_normalize
        elif isinstance(level, SimVQ):
            self.in_proj, self.out_proj, cosine = nn.Identity(), nn.Identity(), False
        elif isinstance(level, FSQ):
            return
        else:
            raise ExportError(f"quantizer level {type(level).__name__} has no ONNX export (vq, simvq, fsq do)")
        with torch.no_grad():
            table = level.weight.detach().float().clone()  # what decode looks up
            search = F.normalize(table, dim=1) if cosine else table
        self.cosine = cosine
        self.register_buffer("table", table)
        self.register_buffer("search_t", search.t().contiguous())
        self.register_buffer("c2", search.pow(2).sum(1)[None])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "fsq":
            return self.level.encode_level(x)
        z = self.in_proj(x)
        flat = z.transpose(1, 2).reshape(-1, self.search_t.shape[0])
        if self.cosine:
            flat = F.normalize(flat, dim=1)
        return torch.addmm(self.c2, flat, self.search_t, alpha=-2.0).argmin(1).reshape(z.shape[0], -1)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        if self.kind == "fsq":
            return self.level.decode_level(codes)
        return self.out_proj(F.embedding(codes, self.table).transpose(1, 2))


class QuantizerGraph(nn.Module):
    """The first `n_levels` levels of a codec's quantizer (residual, multi-scale or single codebook)."""

    def __init__(self, quantizer: nn.Module, n_levels: int):
        super().__init__()
        if not hasattr(quantizer, "levels") and not isinstance(quantizer, (VectorQuantizer, SimVQ, FSQ)):
            raise ExportError(
                f"quantizer '{type(quantizer).__name__}' has no ONNX export yet (residual, multi-scale, single do)"
            )
        levels = list(getattr(quantizer, "levels", [quantizer]))
        strides = list(quantizer.strides)
        self.levels = nn.ModuleList(_Level(q) for q in levels[:n_levels])
        self.strides = [int(s) for s in strides[:n_levels]]

    def encode(self, latents: torch.Tensor) -> list[torch.Tensor]:
        residual, codes = latents, []
        for level, stride in zip(self.levels, self.strides):
            c = level.encode(_down(residual, stride))
            codes.append(c)
            if len(codes) < len(self.levels):
                residual = residual - _up(level.decode(c), stride)
        return codes

    def decode(self, codes: list[torch.Tensor]) -> torch.Tensor:
        out = None
        for level, stride, c in zip(self.levels, self.strides, codes):
            z = _up(level.decode(c), stride)
            out = z if out is None else out + z
        return out


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
