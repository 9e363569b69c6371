"""A causal streaming transformer over (B, C, T) feature maps, as in Mimi's encoder and decoder (Moshi).

Each layer is pre-norm: `x + scale1 * attn(norm1(x))`, then `x + scale2 * linear2(gelu(linear1(norm2(x))))`
(LayerNorm, exact GELU, no biases in the linears, optional LayerScale). Attention is multi-head, causal, with
interleaved rotary embeddings (pairs (2i, 2i + 1) rotated by position * max_period^(-2i / head_dim)) and an
optional context window: a frame at position t sees the frames t - context + 1 .. t.

State-dict layout: `input_proj.weight` / `output_proj.weight` (only when their dimension differs from
`d_model`), and per layer `layers.N.{norm1,norm2}.{weight,bias}`, `layers.N.attn.in_proj.weight` (3 * d_model,
d_model: queries, keys, values, each head after head), `layers.N.attn.out_proj.weight`,
`layers.N.{linear1,linear2}.weight` and `layers.N.{scale1,scale2}.scale` (with a layer scale).

Streaming (see `codeckit.nn.streaming`): each attention layer keeps the rotated keys and values of its last
`context - 1` frames, `k` and `v` (B, heads, context - 1, head_dim) zeros, and `offset` (B,) int64, the
position of the stream's next frame; cache slots before position 0 are masked out. Streaming needs a context.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_non_negative, check_positive
from codeckit.nn.streaming import StreamingError, StreamingModule, check_batch


def apply_rope(x: torch.Tensor, positions: torch.Tensor, max_period: float) -> torch.Tensor:
    """Rotate interleaved pairs of `x` (B, H, T, D) by `positions` (B or 1, T) float32; computed in float32."""
    d = x.shape[-1]
    ds = torch.arange(d // 2, device=x.device, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / d))
    angles = freqs * positions[:, None, :, None]  # (B, 1, T, D/2)
    cos, sin = torch.cos(angles), torch.sin(angles)
    pairs = x.view(*x.shape[:-1], d // 2, 2)
    real, imag = pairs[..., 0].float(), pairs[..., 1].float()
    out = torch.stack([(real * cos - imag * sin).to(x.dtype), (real * sin + imag * cos).to(x.dtype)], dim=-1)
    return out.view(x.shape)


class LayerScale(nn.Module):
    """Per-channel scale of a residual branch (B, T, C), initialised small (Touvron et al., 2021)."""

    def __init__(self, dim: int, init: float):
        super().__init__()
        self.scale = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


class CausalSelfAttention(StreamingModule):
    """Multi-head causal self-attention with rotary positions and an optional context window; (B, T, C)."""

    def __init__(self, dim: int, num_heads: int, context: int | None = None, max_period: float = 10000.0):
        super().__init__()
        check_positive("transformer", d_model=dim, num_heads=num_heads)
        if dim % num_heads or (dim // num_heads) % 2:
            raise ConfigError(f"transformer: d_model {dim} must split into num_heads {num_heads} of an even dimension")
        if context is not None:
            check_positive("transformer", context=context)
        self.dim, self.num_heads, self.head_dim = int(dim), int(num_heads), int(dim) // int(num_heads)
        self.context = None if context is None else int(context)
        self.max_period = float(max_period)
        self.in_proj = nn.Linear(dim, 3 * dim, bias=False)
        self.out_proj = nn.Linear(dim, dim, bias=False)

    def _allowed(self, pos_q: torch.Tensor, pos_k: torch.Tensor) -> torch.Tensor:
        """Boolean mask (B, 1, Tq, Tk): key at or before the query, within the context, not before the stream."""
        delta = pos_q[:, :, None] - pos_k[:, None, :]
        ok = (delta >= 0) & (pos_k[:, None, :] >= 0)
        if self.context is not None:
            ok = ok & (delta < self.context)
        return ok[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.in_proj(x).view(b, t, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        steps = torch.arange(t, device=x.device)
        state = self.streaming_state
        if state is None:
            pos_q = pos_k = steps[None]
        else:
            offset = state["offset"]
            check_batch(offset, b)
            pos_q = offset[:, None] + steps[None]
        q = apply_rope(q, pos_q.float(), self.max_period)
        k = apply_rope(k, pos_q.float(), self.max_period)
        if state is not None:
            cached = state["k"].shape[2]
            k = torch.cat([state["k"], k], dim=2)
            v = torch.cat([state["v"], v], dim=2)
            pos_k = state["offset"][:, None] - cached + torch.arange(cached + t, device=x.device)[None]
            state["k"], state["v"] = k[:, :, k.shape[2] - cached :], v[:, :, v.shape[2] - cached :]
            state["offset"] = state["offset"] + t
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=self._allowed(pos_q, pos_k))
        return self.out_proj(y.transpose(1, 2).reshape(b, t, self.dim))

    def _init_streaming_state(
        self, batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> dict[str, torch.Tensor]:
        if self.context is None:
            raise StreamingError("a causal attention without a context window would need an unbounded cache")
        shape = (batch_size, self.num_heads, self.context - 1, self.head_dim)
        return {
            "k": torch.zeros(shape, device=device, dtype=dtype),
            "v": torch.zeros(shape, device=device, dtype=dtype),
            "offset": torch.zeros(batch_size, device=device, dtype=torch.long),
        }


class TransformerLayer(nn.Module):
    """Pre-norm causal attention and feed-forward blocks with optional layer scale; (B, T, C)."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        dim_feedforward: int,
        context: int | None,
        layer_scale: float | None,
        max_period: float,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = CausalSelfAttention(dim, num_heads, context, max_period)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.linear1 = nn.Linear(dim, dim_feedforward, bias=False)
        self.linear2 = nn.Linear(dim_feedforward, dim, bias=False)
        self.scale1 = LayerScale(dim, layer_scale) if layer_scale is not None else nn.Identity()
        self.scale2 = LayerScale(dim, layer_scale) if layer_scale is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.scale1(self.attn(self.norm1(x)))
        return x + self.scale2(self.linear2(F.gelu(self.linear1(self.norm2(x)))))


class StreamingTransformer(nn.Module):
    """Causal transformer over (B, input_dim, T) -> (B, output_dim, T), projected to `d_model` inside when needed."""

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        num_layers: int,
        dim_feedforward: int = 2048,
        context: int | None = None,
        layer_scale: float | None = None,
        max_period: float = 10000.0,
        input_dim: int | None = None,
        output_dim: int | None = None,
    ):
        super().__init__()
        check_non_negative("transformer", num_layers=num_layers)
        check_positive("transformer", dim_feedforward=dim_feedforward)
        self.d_model = int(d_model)
        self.input_dim = int(input_dim or d_model)
        self.output_dim = int(output_dim or d_model)
        self.input_proj = nn.Linear(self.input_dim, d_model, bias=False) if self.input_dim != d_model else None
        self.layers = nn.ModuleList(
            TransformerLayer(d_model, num_heads, dim_feedforward, context, layer_scale, max_period)
            for _ in range(num_layers)
        )
        self.output_proj = nn.Linear(d_model, self.output_dim, bias=False) if self.output_dim != d_model else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)
        if self.input_proj is not None:
            x = self.input_proj(x)
        for layer in self.layers:
            x = layer(x)
        if self.output_proj is not None:
            x = self.output_proj(x)
        return x.transpose(1, 2)
