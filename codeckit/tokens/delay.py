"""MusicGen's delay pattern: level k is shifted right by `delays[k]` steps, gaps filled with a pad token.

At step t an LM then predicts level 0 of frame t, level 1 of frame t-1, ... in parallel, each
level conditioned on the coarser levels of its own frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from codeckit.tokens.check import as_batch
from codeckit.tokens.errors import TokenError


def delay(codes: Sequence[torch.Tensor], pad: int, delays: Sequence[int] | None = None) -> torch.Tensor:
    """Codes per level `(B, T)` -> `(B, K, T + max(delays))` with level k occupying steps delays[k] .. delays[k]+T-1.

    `delays` default to 0, 1, ..., K-1. `pad` must differ from every code (e.g. the codebook size), so the
    layout is unambiguous; a code equal to `pad` raises TokenError naming level and position.
    """
    batch, squeeze = as_batch(codes)
    frames = [c.shape[1] for c in batch]
    if len(set(frames)) != 1:
        raise TokenError(f"the delay pattern needs levels with equal frame counts, got {frames}")
    delays = _check_delays(delays, len(batch))
    b, t = batch[0].shape
    out = torch.full((b, len(batch), t + max(delays)), int(pad), dtype=torch.long, device=batch[0].device)
    for k, (c, d) in enumerate(zip(batch, delays)):
        hit = (c == pad).nonzero()
        if len(hit):
            raise TokenError(
                f"code at level {k}, item {int(hit[0, 0])}, frame {int(hit[0, 1])} equals the pad id {pad}"
            )
        out[:, k, d : d + t] = c
    return out[0] if squeeze else out


def undelay(
    delayed: torch.Tensor, pad: int, delays: Sequence[int] | None = None, strict: bool = True
) -> list[torch.Tensor]:
    """Inverse of `delay`: `(B, K, S)` or `(K, S)` -> K levels of `(B, S - max(delays))`.

    With `strict`, every step outside a level's window must hold `pad` (else TokenError naming level and step);
    pass `strict=False` for LM output whose pad steps were sampled freely.
    """
    squeeze = delayed.dim() == 2
    x = delayed[None] if squeeze else delayed
    if x.dim() != 3:
        raise TokenError(f"delayed codes must be (levels, steps) or (batch, levels, steps), got {tuple(delayed.shape)}")
    delays = _check_delays(delays, x.shape[1])
    t = x.shape[2] - max(delays)
    if t < 0:
        raise TokenError(f"{x.shape[2]} steps are fewer than the largest delay {max(delays)}")
    out = []
    for k, d in enumerate(delays):
        if strict:
            outside = torch.cat([x[:, k, :d], x[:, k, d + t :]], dim=1) != pad
            if bool(outside.any()):
                item, j = (int(v) for v in outside.nonzero()[0])
                step = j if j < d else j + t
                raise TokenError(
                    f"level {k}, item {item}, step {step} should be the pad id {pad}, got {int(x[item, k, step])}"
                )
        level = x[:, k, d : d + t].long()
        out.append(level[0] if squeeze else level)
    return out


def _check_delays(delays: Sequence[int] | None, n_levels: int) -> list[int]:
    delays = list(range(n_levels)) if delays is None else [int(d) for d in delays]
    if len(delays) != n_levels or any(d < 0 for d in delays):
        raise TokenError(f"delays {delays} must be one non-negative int per level ({n_levels} levels)")
    return delays
