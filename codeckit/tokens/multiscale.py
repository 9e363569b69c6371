"""Multi-scale flattening: every coarse frame becomes one run of tokens from all levels.

SNAC's levels run at 1x, 2x and 4x the coarse rate, so one coarse frame holds 1 + 2 + 4 = 7 codes.
Orpheus and Mini-Omni order them depth-first (a tree walk: l0, l1, l2, l2, l1, l2, l2); "breadth"
keeps each level together (l0, l1, l1, l2, l2, l2, l2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from codeckit.tokens.check import as_batch
from codeckit.tokens.errors import TokenError

Order = Literal["depth", "breadth"]


def ratios_from_strides(strides: Sequence[int]) -> list[int]:
    """Codes per coarse frame at each level, from a quantizer's strides (coarse first), e.g. [4,2,1] -> [1,2,4]."""
    if not strides or any(s < 1 for s in strides) or any(strides[0] % s for s in strides):
        raise TokenError(f"strides {list(strides)} must be positive and each divide the first (coarsest)")
    return [strides[0] // s for s in strides]


def slot_levels(ratios: Sequence[int], order: Order = "depth") -> list[int]:
    """The level of each slot in one flattened coarse frame, e.g. [1,2,4] depth -> [0,1,2,2,1,2,2]."""
    return [level for level, _ in _slots(ratios, order)]


def flatten(codes: Sequence[torch.Tensor], ratios: Sequence[int] | None = None, order: Order = "depth") -> torch.Tensor:
    """Codes per level `(B, F0*r_l)` -> one sequence `(B, F0*sum(r))`, a frame's codes together.

    `ratios` (codes per coarse frame at each level) default to the shapes' ratios; 1-D levels give a 1-D result.
    """
    batch, squeeze = as_batch(codes)
    frames0 = batch[0].shape[1]
    if ratios is None:
        if frames0 == 0 or any(c.shape[1] % frames0 for c in batch):
            raise TokenError(f"level frame counts {[c.shape[1] for c in batch]} are not multiples of the first")
        ratios = [c.shape[1] // frames0 for c in batch]
    ratios = _check_ratios(ratios, len(batch))
    frames0 = batch[0].shape[1] // ratios[0]
    for level, (c, r) in enumerate(zip(batch, ratios)):
        if c.shape[1] != frames0 * r:
            raise TokenError(
                f"level {level} has {c.shape[1]} frames; expected {frames0} coarse frames x {r} = {frames0 * r}"
            )
    b = batch[0].shape[0]
    grouped = torch.cat([c.reshape(b, frames0, r) for c, r in zip(batch, ratios)], dim=2)  # breadth order
    flat = grouped[:, :, _perm(ratios, order)].reshape(b, -1)
    return flat[0] if squeeze else flat


def unflatten(flat: torch.Tensor, ratios: Sequence[int], order: Order = "depth") -> list[torch.Tensor]:
    """Inverse of `flatten`: `(B, N)` or `(N,)` with N a multiple of sum(ratios) -> codes per level."""
    ratios = _check_ratios(ratios, len(ratios))
    squeeze = flat.dim() == 1
    flat = flat[None] if squeeze else flat
    if flat.dim() != 2:
        raise TokenError(f"a flattened sequence must be (tokens,) or (batch, tokens), got {tuple(flat.shape)}")
    n = sum(ratios)
    if flat.shape[1] % n:
        raise TokenError(f"flattened length {flat.shape[1]} is not a multiple of {n} tokens per coarse frame")
    b, frames0 = flat.shape[0], flat.shape[1] // n
    grouped = flat.reshape(b, frames0, n)[:, :, _inverse(_perm(ratios, order))]
    out, start = [], 0
    for r in ratios:
        level = grouped[:, :, start : start + r].reshape(b, frames0 * r)
        out.append(level[0] if squeeze else level)
        start += r
    return out


def _check_ratios(ratios: Sequence[int], n_levels: int) -> list[int]:
    ratios = [int(r) for r in ratios]
    if len(ratios) != n_levels or not ratios or any(r < 1 for r in ratios):
        raise TokenError(f"ratios {ratios} must be one positive int per level ({n_levels} levels)")
    return ratios


def _slots(ratios: Sequence[int], order: Order) -> list[tuple[int, int]]:
    """(level, index within the coarse frame) for each slot of one flattened frame."""
    if order == "breadth":
        return [(level, j) for level, r in enumerate(ratios) for j in range(r)]
    if order != "depth":
        raise TokenError(f"order must be 'depth' or 'breadth', got {order!r}")
    for level in range(1, len(ratios)):
        if ratios[level] % ratios[level - 1]:
            raise TokenError(f"depth order needs each ratio to divide the next, got {list(ratios)}")
    out: list[tuple[int, int]] = []

    def visit(level: int, j: int) -> None:
        out.append((level, j))
        if level + 1 < len(ratios):
            k = ratios[level + 1] // ratios[level]
            for c in range(k):
                visit(level + 1, j * k + c)

    for j in range(ratios[0]):
        visit(0, j)
    return out


def _perm(ratios: Sequence[int], order: Order) -> torch.Tensor:
    """Slot order as indices into the breadth-ordered frame."""
    starts = [sum(ratios[:level]) for level in range(len(ratios))]
    return torch.tensor([starts[level] + j for level, j in _slots(ratios, order)], dtype=torch.long)


def _inverse(perm: torch.Tensor) -> torch.Tensor:
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(len(perm))
    return inv
