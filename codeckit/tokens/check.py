"""Checks shared by the layouts and the token files: shapes of code lists and code ranges."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from codeckit.tokens.errors import TokenError


def as_batch(codes: Sequence[torch.Tensor], what: str = "codes") -> tuple[list[torch.Tensor], bool]:
    """Codes as 2-D `(batch, frames_l)` int64 tensors; the flag says whether they were 1-D `(frames_l,)`."""
    if isinstance(codes, torch.Tensor) or len(codes) == 0:
        raise TokenError(f"{what} must be a non-empty list with one tensor per level")
    dims = {c.dim() if isinstance(c, torch.Tensor) else -1 for c in codes}
    if dims not in ({1}, {2}):
        shapes = [tuple(c.shape) if isinstance(c, torch.Tensor) else type(c).__name__ for c in codes]
        raise TokenError(f"{what}: every level must be a (frames,) or (batch, frames) tensor, got {shapes}")
    for level, c in enumerate(codes):
        if c.dtype.is_floating_point or c.dtype.is_complex or c.dtype == torch.bool:
            raise TokenError(f"{what}: level {level} has dtype {c.dtype}; codes must be integers")
    squeeze = dims == {1}
    out = [(c[None] if squeeze else c).long() for c in codes]
    batches = {c.shape[0] for c in out}
    if len(batches) != 1:
        raise TokenError(f"{what}: levels disagree on batch size: {[c.shape[0] for c in out]}")
    return out, squeeze


def check_range(
    codes: Sequence[torch.Tensor],
    codebook_sizes: Sequence[int],
    frames: Sequence[Sequence[int]] | None = None,
    what: str = "codes",
) -> None:
    """Raise TokenError naming level, item and frame of the first code outside `0..codebook_size-1`.

    `frames[i][l]` limits the check to item i's valid frames at level l (later frames are padding).
    """
    batch, _ = as_batch(codes, what)
    if len(batch) > len(codebook_sizes):
        raise TokenError(f"{what}: {len(batch)} levels but the codec has {len(codebook_sizes)}")
    for level, (c, size) in enumerate(zip(batch, codebook_sizes)):
        bad = (c < 0) | (c >= size)
        if frames is not None:
            limit = torch.tensor([f[level] for f in frames], device=c.device)
            bad &= torch.arange(c.shape[1], device=c.device)[None, :] < limit[:, None]
        if bool(bad.any()):
            item, pos = (int(x) for x in bad.nonzero()[0])
            raise TokenError(
                f"{what}: code {int(c[item, pos])} at level {level}, item {item}, frame {pos} "
                f"is outside the codebook (0..{size - 1})"
            )
