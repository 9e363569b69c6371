"""Pieces shared by the single-codebook quantizers: nearest-code search, gradient estimators, losses, statistics,
and the frozen codebook their ONNX export searches."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.quantizers.distributed import all_reduce_sum_
from codeckit.quantizers.errors import QuantizerError

_DIST_BUDGET = 1 << 24  # distance-matrix entries per chunk (64 MB in float32)


class LevelOutput(NamedTuple):
    """One codebook's result: quantized (B, D, T), codes (B, T), weighted losses, stats without level suffix."""

    quantized: torch.Tensor
    codes: torch.Tensor
    losses: dict[str, torch.Tensor]
    stats: dict[str, torch.Tensor]


def flatten_frames(x: torch.Tensor) -> torch.Tensor:
    """(B, D, T) -> (B*T, D), frame-major so row b*T + t is frame t of item b."""
    return x.transpose(1, 2).reshape(-1, x.shape[1])


def nearest(x: torch.Tensor, codebook: torch.Tensor, cosine: bool = False) -> torch.Tensor:
    """Index of the nearest codebook row for each row of `x` (N, d): Euclidean, or cosine when `cosine`."""
    x = x.detach().float()
    codebook = codebook.detach().float()
    if cosine:
        x, codebook = F.normalize(x, dim=1), F.normalize(codebook, dim=1)
    c2 = codebook.pow(2).sum(1)[None]
    rows = max(1, _DIST_BUDGET // max(1, codebook.shape[0]))
    out = []
    for chunk in x.split(rows):
        # ||x - c||^2 without the ||x||^2 term, which is the same for every code of a row
        out.append(torch.addmm(c2, chunk, codebook.t(), alpha=-2.0).argmin(1))
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=x.device)


def straight_through(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Value exactly `target`; gradient passes to `source` unchanged (identity)."""
    return target.detach() + (source - source.detach())


def rotation_trick(source: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Value exactly `target` (B, d, T); gradient to `source` through the fixed rotation and scaling
    that maps each source vector onto its target (Fifty et al., 2024), instead of the identity."""
    e, q = source.detach(), target.detach()
    e_norm = e.norm(dim=1, keepdim=True).clamp_min(eps)
    q_norm = q.norm(dim=1, keepdim=True)
    u, v = e / e_norm, q / q_norm.clamp_min(eps)
    w = F.normalize(u + v, dim=1, eps=eps)
    rotated = source - 2 * w * (w * source).sum(1, keepdim=True) + 2 * v * (u * source).sum(1, keepdim=True)
    rotated = rotated * (q_norm / e_norm)
    return q + (rotated - rotated.detach())


def masked_mean(per_item: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Batch mean of a per-item loss (B,), with dropped items (mask 0) counted as zero."""
    if mask is None:
        return per_item.mean()
    return (per_item * mask).sum() / per_item.shape[0]


def stop_grad_mse(source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """`masked_mean` of each item's mean ||source - sg(target)||^2 over (B, D, T): a commitment or codebook loss,
    whose gradient reaches `source` only."""
    return masked_mean((source - target.detach()).pow(2).mean((1, 2)), mask)


def frame_mask(mask: torch.Tensor | None, frames: int) -> torch.Tensor | None:
    """Per-item mask (B,) -> per-frame boolean mask (B*T,) in `flatten_frames` order."""
    if mask is None:
        return None
    return mask.bool()[:, None].expand(-1, frames).reshape(-1)


def code_counts(codes: torch.Tensor, size: int, frames: torch.Tensor | None = None) -> torch.Tensor:
    """How often each of `size` codes occurs in `codes` (flat), counting only frames where `frames` is set."""
    flat = codes.reshape(-1)
    if frames is not None:
        flat = flat[frames]
    return torch.bincount(flat, minlength=size).float()


def usage_stats(counts: torch.Tensor, usage: torch.Tensor, dead_threshold: float) -> dict[str, torch.Tensor]:
    """Utilization (fraction of codes used in this batch), perplexity of the batch's code histogram, and the
    number of dead codes: running usage below `dead_threshold`, or below 1% of the mean usage when it is 0."""
    total = counts.sum()
    p = counts / total.clamp_min(1.0)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    threshold = dead_threshold if dead_threshold > 0 else 0.01 * float(usage.mean())
    dead = (usage < threshold).sum() if dead_threshold > 0 else (usage <= threshold).sum()
    return {
        "utilization": (counts > 0).float().mean(),
        "perplexity": torch.exp(entropy),
        "dead_codes": dead.float(),
    }


def track_usage(
    usage: torch.Tensor, codes: torch.Tensor, mask: torch.Tensor | None, decay: float, training: bool
) -> dict[str, torch.Tensor]:
    """`usage_stats` of (B, T) `codes` over the frames of active items; in training the counts are first summed
    over ranks and folded into the running `usage` EMA in place (unless no item anywhere used this level)."""
    counts = code_counts(codes, usage.shape[0], frame_mask(mask, codes.shape[1]))
    if training and float(all_reduce_sum_(counts).sum()) > 0:
        usage.mul_(decay).add_(counts, alpha=1 - decay)
    return usage_stats(counts, usage, 0.0)


def check_latents(latents: torch.Tensor, dim: int, name: str) -> None:
    """Raise QuantizerError unless `latents` is a floating (B, dim, T) tensor."""
    if not isinstance(latents, torch.Tensor) or latents.dim() != 3 or latents.shape[1] != dim:
        shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
        raise QuantizerError(f"{name}: latents must be (batch, {dim}, frames), got {shape}")
    if not latents.is_floating_point():
        raise QuantizerError(f"{name}: latents must be floating point, got {latents.dtype}")


def check_codes(codes: torch.Tensor, size: int, name: str, level: int = 0) -> None:
    """Raise QuantizerError unless `codes` is an int64 (B, T) tensor with values in [0, size)."""
    if not isinstance(codes, torch.Tensor) or codes.dim() != 2:
        shape = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise QuantizerError(f"{name}: codes of level {level} must be (batch, frames), got {shape}")
    if codes.dtype != torch.long:
        raise QuantizerError(f"{name}: codes of level {level} must be int64, got {codes.dtype}")
    if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= size):
        raise QuantizerError(
            f"{name}: codes of level {level} must lie in [0, {size}), got [{int(codes.min())}, {int(codes.max())}]"
        )


class FrozenCodebook(nn.Module):
    """A codebook's code vectors frozen for ONNX export: the nearest-code search is the same `addmm` as
    `nearest`, unchunked, with the search tables precomputed so the traced graph holds no codebook arithmetic."""

    def __init__(self, codebook: torch.Tensor, cosine: bool = False):
        super().__init__()
        with torch.no_grad():
            table = codebook.detach().float().clone()  # what a lookup returns
            search = F.normalize(table, dim=1) if cosine else table
        self.cosine = cosine
        self.register_buffer("table", table)
        self.register_buffer("search_t", search.t().contiguous())
        self.register_buffer("c2", search.pow(2).sum(1)[None])

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """(B, d, T) latents -> (B, T) nearest codes, every length taken from tensor shapes."""
        flat = z.transpose(1, 2).reshape(-1, self.search_t.shape[0])
        if self.cosine:
            flat = F.normalize(flat, dim=1)
        return torch.addmm(self.c2, flat, self.search_t, alpha=-2.0).argmin(1).reshape(z.shape[0], -1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) codes -> (B, d, T) code vectors."""
        return F.embedding(codes, self.table).transpose(1, 2)
