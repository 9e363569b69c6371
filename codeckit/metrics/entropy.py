"""Effective bitrate: the empirical entropy of each level's tokens, what an entropy coder would spend.

A codec declares `log2(codebook_size)` bits per token (its nominal bitrate); a codebook that uses few of
its entries, or uses them unevenly, really carries fewer. Histograms are accumulated over a whole set
of files, so the entropy is that of the evaluated set, not of one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import numpy as np
import torch

CodeArray = Union[np.ndarray, torch.Tensor]


def _as_int_array(codes: CodeArray) -> np.ndarray:
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    codes = np.asarray(codes)
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes must be integers, got dtype {codes.dtype}")
    return codes.reshape(-1)


def entropy_bits(counts: np.ndarray) -> float:
    """Shannon entropy in bits of the distribution given by non-negative `counts` (0 for one symbol)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("entropy of an empty histogram is undefined")
    p = counts[counts > 0] / total
    return float(max(0.0, -(p * np.log2(p)).sum()))


class TokenHistogram:
    """Per-level token counts accumulated over many code streams (coarse to fine levels)."""

    def __init__(self, codebook_sizes: Sequence[int]):
        if not codebook_sizes:
            raise ValueError("codebook_sizes must name at least one level")
        self.codebook_sizes = [int(s) for s in codebook_sizes]
        self.counts = [np.zeros(s, dtype=np.int64) for s in self.codebook_sizes]

    def update(self, codes: Sequence[CodeArray]) -> None:
        """Add one code stream: one integer array (any shape) per level."""
        if len(codes) != len(self.counts):
            raise ValueError(f"expected codes for {len(self.counts)} levels, got {len(codes)}")
        for level, (c, size) in enumerate(zip(codes, self.codebook_sizes)):
            flat = _as_int_array(c)
            if flat.size and (flat.min() < 0 or flat.max() >= size):
                raise ValueError(f"level {level}: codes must lie in [0, {size}), got [{flat.min()}, {flat.max()}]")
            self.counts[level] += np.bincount(flat, minlength=size)

    def entropies(self) -> list[float]:
        """Bits per token, per level."""
        return [entropy_bits(c) for c in self.counts]

    def usage(self) -> list[float]:
        """Fraction of each codebook's entries used at least once."""
        return [float((c > 0).mean()) for c in self.counts]

    def perplexity(self) -> list[float]:
        """2**entropy per level: the number of equally likely entries that would carry as much."""
        return [2.0**h for h in self.entropies()]

    def effective_bitrate(self, frame_rates: Sequence[float]) -> float:
        """Bits per second: sum over levels of frame_rate_l * entropy_l."""
        if len(frame_rates) != len(self.counts):
            raise ValueError(f"expected {len(self.counts)} frame rates, got {len(frame_rates)}")
        return sum(float(r) * h for r, h in zip(frame_rates, self.entropies()))


def effective_bitrate(
    code_streams: Sequence[Sequence[CodeArray]],
    codebook_sizes: Sequence[int],
    frame_rates: Sequence[float],
) -> float:
    """Bits per second an ideal entropy coder spends on `code_streams` (a list of per-level code lists)."""
    hist = TokenHistogram(codebook_sizes)
    for codes in code_streams:
        hist.update(codes)
    return hist.effective_bitrate(frame_rates)
