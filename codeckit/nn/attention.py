"""Local windowed multi-head self-attention with rotary position embeddings (as in SNAC's bottleneck).

The time axis is cut into non-overlapping windows of `window` frames; each window attends only to
itself, positions restart at 0 in every window. With `causal=True` a frame sees only earlier frames of
its window, so the layer is causal. A length that is not a multiple of the window is padded inside and
the padded frames are masked out of the keys, then trimmed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_positive


class RotaryEmbedding(nn.Module):
    """Rotary embedding: rotates pairs (i, i + d/2) of each head vector by position * inv_freq_i."""

    def __init__(self, dim_head: int, base: float = 10000.0):
        super().__init__()
        check_positive("rotary embedding", dim_head=dim_head)
        if dim_head % 2:
            raise ConfigError(f"rotary embedding: dim_head must be even (rotated in pairs), got {dim_head}")
        inv_freq = 1.0 / (base ** (torch.arange(0, dim_head, 2).float() / dim_head))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def angles(self, n: int, device: torch.device) -> torch.Tensor:
        """(n, dim_head) rotation angles for positions 0..n-1."""
        t = torch.arange(n, device=device, dtype=self.inv_freq.dtype)
        freqs = t[:, None] * self.inv_freq[None, :]
        return torch.cat((freqs, freqs), dim=-1)

    @staticmethod
    def rotate(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        """Apply the rotation to `x` (..., n, dim_head)."""
        x1, x2 = x.chunk(2, dim=-1)
        return x * angles.cos() + torch.cat((-x2, x1), dim=-1) * angles.sin()


class LocalAttention(nn.Module):
    """Pre-LayerNorm local windowed MHA with a residual connection; input and output (B, C, T)."""

    def __init__(self, dim: int, window: int = 32, dim_head: int = 64, causal: bool = False, rotary: bool = True):
        super().__init__()
        check_positive("local attention", dim=dim, window=window, dim_head=dim_head)
        if dim % dim_head:
            raise ConfigError(f"local attention: dim {dim} is not a multiple of the head dimension dim_head {dim_head}")
        self.dim, self.window, self.dim_head, self.causal = dim, int(window), int(dim_head), bool(causal)
        self.heads = dim // dim_head
        self.norm = nn.LayerNorm(dim)
        self.to_qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.rotary = RotaryEmbedding(dim_head) if rotary else None
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        w = self.window
        pad = (-t) % w
        h = self.norm(x.transpose(1, 2))
        if pad:
            h = F.pad(h, (0, 0, 0, pad))
        n_win = h.shape[1] // w
        q, k, v = self.to_qkv(h).chunk(3, dim=-1)
        # (B, W*N, H*D) -> (B, H, W, N, D)
        q, k, v = (z.reshape(b, n_win, w, self.heads, self.dim_head).permute(0, 3, 1, 2, 4) for z in (q, k, v))
        if self.rotary is not None:
            ang = self.rotary.angles(w, x.device).to(q.dtype)
            q, k = self.rotary.rotate(q, ang), self.rotary.rotate(k, ang)
        mask = self._mask(t, pad, n_win, x.device)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=self.causal and mask is None)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, n_win * w, c)[:, :t]
        return self.to_out(out).transpose(1, 2) + x

    def _mask(self, t: int, pad: int, n_win: int, device: torch.device) -> torch.Tensor | None:
        """Boolean (W, N, N) mask (True = attend) when padding or causality need one with padding."""
        if not pad:
            return None
        w = self.window
        valid = (torch.arange(n_win * w, device=device) < t).reshape(n_win, 1, w)
        mask = valid.expand(n_win, w, w)
        if self.causal:
            mask = mask & torch.ones(w, w, dtype=torch.bool, device=device).tril()
        # a fully padded query row would attend to nothing: let it see itself (it is trimmed anyway)
        return mask | torch.eye(w, dtype=torch.bool, device=device)
