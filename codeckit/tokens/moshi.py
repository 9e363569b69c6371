"""Moshi (kyutai-labs/moshi): Mimi's codebooks as parallel LM streams with an acoustic delay.

Reproduces `moshi/moshi/models/lm_utils.py` (`_delay_sequence`, `_undelay_sequence`) with the delays of
`moshi/moshi/models/loaders.py` (`_lm_kwargs["delays"]`: text 0, semantic level 0, the 7 acoustic levels 1)
and the initial token `card` (`lm.py`, `initial_token_id`) as the pad. Each level has its own embedding
table in Moshi, so ids are the codes themselves. `_delay_sequence` keeps the input's length and drops the
last `delay` steps of the delayed levels; this layout keeps them, `max(delays)` steps longer.
"""

from __future__ import annotations

from codeckit.tokens.lm import DelayedLayout


def moshi(n_q: int = 8, card: int = 2048, acoustic_delay: int = 1) -> DelayedLayout:
    """The Moshi layout: `n_q` Mimi levels of `card` codes, levels 1.. delayed by `acoustic_delay`, pad `card`."""
    delays = [0] + [int(acoustic_delay)] * (int(n_q) - 1)
    return DelayedLayout("moshi", (1,) * n_q, (card,) * n_q, delays, card, [0] * n_q, "breadth")
