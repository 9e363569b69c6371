"""Frame-major interleaving of residual levels that share one frame rate: c0[t], c1[t], ..., c0[t+1], ..."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from codeckit.tokens.check import as_batch
from codeckit.tokens.errors import TokenError


def interleave(codes: Sequence[torch.Tensor]) -> torch.Tensor:
    """Codes per level `(B, T)` -> `(B, T*K)`, frame t's K codes at positions t*K .. t*K+K-1."""
    batch, squeeze = as_batch(codes)
    frames = [c.shape[1] for c in batch]
    if len(set(frames)) != 1:
        raise TokenError(f"interleave needs levels with equal frame counts, got {frames}; use flatten for multi-scale")
    flat = torch.stack(batch, dim=2).reshape(batch[0].shape[0], -1)
    return flat[0] if squeeze else flat


def deinterleave(flat: torch.Tensor, n_levels: int) -> list[torch.Tensor]:
    """Inverse of `interleave`: `(B, T*K)` or `(T*K,)` -> K levels of `(B, T)` (or `(T,)`)."""
    squeeze = flat.dim() == 1
    flat = flat[None] if squeeze else flat
    if flat.dim() != 2 or n_levels < 1 or flat.shape[1] % n_levels:
        raise TokenError(f"cannot split a sequence of shape {tuple(flat.shape)} into {n_levels} interleaved levels")
    grid = flat.reshape(flat.shape[0], -1, n_levels)
    return [grid[0, :, k] if squeeze else grid[:, :, k] for k in range(n_levels)]
