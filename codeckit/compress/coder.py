"""One chunk of codes to range-coded words and back (constriction's range coder, one model per context).

Levels are coded coarse to fine and frames in order, so when the decoder reaches a code it already knows
every code its context reads. The encoder computes all contexts at once; the decoder one frame at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import constriction
import numpy as np

from codeckit.compress.contexts import ScalarContext, chunk_rows
from codeckit.compress.errors import CompressError
from codeckit.compress.model import ContextModel


def encode_chunk(codes: Sequence[np.ndarray], model: ContextModel) -> np.ndarray:
    """Range-code one chunk's codes (1-D int64 per active level, chunk-local) into uint32 words."""
    sizes, hops = model.spec.codebook_sizes, model.spec.hop_lengths
    enc = constriction.stream.queue.RangeEncoder()
    for lv, x in enumerate(codes):
        rows = chunk_rows(codes, lv, model.stages[lv], hops, sizes[lv]).T.tolist()
        coder_model = model.coder_model
        for t, sym in enumerate(x.tolist()):
            enc.encode(sym, coder_model(lv, tuple(rows[t])))
    return enc.get_compressed()


def decode_chunk(words: np.ndarray, frames: Sequence[int], model: ContextModel, where: str) -> list[np.ndarray]:
    """Decode `frames[l]` codes per level from one chunk's words; CompressError (naming `where`) if the words
    are not a whole chunk of this model's codes."""
    sizes, hops = model.spec.codebook_sizes, model.spec.hop_lengths
    dec = constriction.stream.queue.RangeDecoder(np.ascontiguousarray(words, dtype=np.uint32))
    out: list[np.ndarray] = []
    coder_model = model.coder_model
    for lv, n in enumerate(frames):
        ctx = ScalarContext(out, lv, model.stages[lv], hops)
        none = sizes[lv]
        got: list[int] = []
        try:
            for t in range(n):
                got.append(int(dec.decode(coder_model(lv, ctx.rows(got, t, none)))))
        except (ValueError, RuntimeError) as e:
            raise CompressError(f"{where}: does not decode with this context model ({e})") from None
        out.append(np.asarray(got, dtype=np.int64))
    if not dec.maybe_exhausted():
        raise CompressError(f"{where}: data left over after its codes; written with another context model?")
    return out
