"""Nominal bitrate from a codec's declaration, and the range check of `n_quantizers`: the one place of each."""

from __future__ import annotations

import math
from collections.abc import Sequence


def levels_used(n_quantizers: int | None, n_levels: int, error: type[Exception] = ValueError, where: str = "") -> int:
    """How many levels `n_quantizers` asks for (None: all `n_levels`): the one range check of every caller.

    Raises `error` (its message prefixed by `where`) unless 1 <= n_quantizers <= n_levels.
    """
    n = n_levels if n_quantizers is None else int(n_quantizers)
    if not 1 <= n <= n_levels:
        raise error(f"{where}n_quantizers must be in 1..{n_levels}, got {n_quantizers}")
    return n


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
    n = levels_used(n_quantizers, len(hop_lengths))
    for hop, size in zip(hop_lengths, codebook_sizes):
        if hop <= 0 or size < 2:
            raise ValueError(f"invalid level: hop {hop}, codebook size {size}")
    return sum(sample_rate / hop * math.log2(size) for hop, size in zip(hop_lengths[:n], codebook_sizes[:n]))
