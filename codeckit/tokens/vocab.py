"""One shared LM vocabulary: text ids first, then special tokens, then each level's codes at its own offset.

Level l's code c becomes id `offsets[l] + c`, with `offsets[0] = text_vocab_size + len(specials)` and each
level's range right after the previous one, so every id names its level. For layouts whose slots should
each get their own range (Orpheus offsets every one of the 7 SNAC slots), give one "level" per slot and
use `encode_flat` with `slots = range(7)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from codeckit.tokens.check import as_batch, check_range
from codeckit.tokens.errors import TokenError


@dataclass(frozen=True)
class AudioVocab:
    """Per-level offsets of audio codes beside a text vocabulary of `text_vocab_size` ids."""

    codebook_sizes: tuple[int, ...]
    text_vocab_size: int = 0
    specials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "codebook_sizes", tuple(int(s) for s in self.codebook_sizes))
        object.__setattr__(self, "specials", tuple(self.specials))
        if not self.codebook_sizes or any(s < 1 for s in self.codebook_sizes):
            raise TokenError(f"codebook_sizes must be positive ints, got {list(self.codebook_sizes)}")
        if self.text_vocab_size < 0:
            raise TokenError(f"text_vocab_size must be >= 0, got {self.text_vocab_size}")
        if len(set(self.specials)) != len(self.specials):
            raise TokenError(f"special token names repeat: {list(self.specials)}")

    @property
    def offsets(self) -> list[int]:
        """First id of each level's range."""
        start = self.text_vocab_size + len(self.specials)
        return [start + sum(self.codebook_sizes[:level]) for level in range(len(self.codebook_sizes))]

    @property
    def size(self) -> int:
        """Total vocabulary size (text + specials + all levels)."""
        return self.text_vocab_size + len(self.specials) + sum(self.codebook_sizes)

    @property
    def special_ids(self) -> dict[str, int]:
        """Special token name -> id (right after the text ids)."""
        return {name: self.text_vocab_size + i for i, name in enumerate(self.specials)}

    def encode(self, codes: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Codes per level -> vocabulary ids per level (same shapes); out-of-range codes raise TokenError."""
        check_range(codes, self.codebook_sizes)
        return [c.long() + off for c, off in zip(codes, self.offsets)]

    def decode(self, ids: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Inverse of `encode`; an id outside its level's range raises TokenError naming level and position."""
        batch, squeeze = as_batch(ids, "ids")
        codes = [c - off for c, off in zip(batch, self.offsets)]
        check_range(codes, self.codebook_sizes, what="ids (minus offsets)")
        return [c[0] for c in codes] if squeeze else codes

    def encode_flat(self, flat: torch.Tensor, slots: Sequence[int]) -> torch.Tensor:
        """Shift a flattened sequence whose position i holds a code of level `slots[i % len(slots)]`.

        `slots` is e.g. `multiscale.slot_levels(ratios)` for a flattened SNAC frame, or `range(K)` after
        `interleave`.
        """
        levels = self._levels(flat, slots)
        sizes = torch.tensor(self.codebook_sizes, device=flat.device)[levels]
        bad = (flat < 0) | (flat >= sizes)
        if bool(bad.any()):
            pos = tuple(int(v) for v in bad.nonzero()[0])
            raise TokenError(
                f"code {int(flat[pos])} at position {pos} (level {int(levels[pos])}) is outside "
                f"0..{int(sizes[pos]) - 1}"
            )
        return flat.long() + torch.tensor(self.offsets, device=flat.device)[levels]

    def decode_flat(self, ids: torch.Tensor, slots: Sequence[int]) -> torch.Tensor:
        """Inverse of `encode_flat`; an id outside its slot's level range raises TokenError naming the position."""
        levels = self._levels(ids, slots)
        codes = ids.long() - torch.tensor(self.offsets, device=ids.device)[levels]
        sizes = torch.tensor(self.codebook_sizes, device=ids.device)[levels]
        bad = (codes < 0) | (codes >= sizes)
        if bool(bad.any()):
            pos = tuple(int(v) for v in bad.nonzero()[0])
            raise TokenError(
                f"id {int(ids[pos])} at position {pos} is not a level-{int(levels[pos])} id "
                f"({self.offsets[int(levels[pos])]}..{self.offsets[int(levels[pos])] + int(sizes[pos]) - 1})"
            )
        return codes

    def level_of(self, ids: torch.Tensor) -> torch.Tensor:
        """The audio level of each id, or -1 for text and special ids (same shape as `ids`)."""
        start = self.offsets[0]
        bounds = torch.tensor(self.offsets[1:] + [self.size], device=ids.device)
        level = torch.bucketize(ids.long(), bounds, right=True)
        return torch.where((ids >= start) & (ids < self.size), level, torch.full_like(level, -1))

    def _levels(self, flat: torch.Tensor, slots: Sequence[int]) -> torch.Tensor:
        slots = [int(s) for s in slots]
        if not slots or any(not 0 <= s < len(self.codebook_sizes) for s in slots):
            raise TokenError(f"slots {slots} must name levels 0..{len(self.codebook_sizes) - 1}")
        if flat.dim() not in (1, 2) or flat.shape[-1] % len(slots):
            raise TokenError(f"sequence of shape {tuple(flat.shape)} is not a whole number of {len(slots)}-slot frames")
        pattern = torch.tensor(slots, device=flat.device).repeat(flat.shape[-1] // len(slots))
        return pattern.expand_as(flat)
