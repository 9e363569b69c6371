"""Nominal bitrate from a codec's declaration: the one place it is computed."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nominal_bitrate(
    sample_rate: int,
    hop_lengths: Sequence[int],
    codebook_sizes: Sequence[int],
    n_quantizers: int | None = None,
) -> float:
    """Bits per second: sum over the first `n_quantizers` levels of frame_rate_l * log2(codebook_size_l).

    `hop_lengths[l]` is level l's hop in samples (its frame rate is sample_rate / hop);
    levels are ordered coarse to fine, so fewer quantizers drop the finest levels.
    """
    if len(hop_lengths) != len(codebook_sizes):
        raise ValueError(f"{len(hop_lengths)} hop lengths but {len(codebook_sizes)} codebook sizes")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    n = len(hop_lengths) if n_quantizers is None else n_quantizers
    if not 1 <= n <= len(hop_lengths):
        raise ValueError(f"n_quantizers must be in 1..{len(hop_lengths)}, got {n_quantizers}")
    for hop, size in zip(hop_lengths, codebook_sizes):
        if hop <= 0 or size < 2:
            raise ValueError(f"invalid level: hop {hop}, codebook size {size}")
    return sum(sample_rate / hop * math.log2(size) for hop, size in zip(hop_lengths[:n], codebook_sizes[:n]))
