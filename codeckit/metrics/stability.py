"""Token stability: how often a codec's tokens change when the sound does not.

A speech LM learns from token sequences, so the same sound should give the same tokens. Three tests,
each the fraction of compared tokens (all levels together) that differ, 0 = perfectly stable:

- shift: the input is delayed by a fraction of the codec's hop (1/4, 1/2 and 3/4 of `hop_length`, zeros
  prepended) and frame i is compared with frame i of the original (the last frame, which sees padding,
  is left out). The mean over the shifts is reported.
- context: a segment of the utterance (its middle half, cut on the codec's padding grid so frames line
  up) is encoded alone and compared with the same frames inside the whole utterance, leaving out
  `margin_s` at each end of the segment, where the segment's own edges are legitimately different.
- noise: white noise at 40 dB SNR (over the whole file, fixed seed) is added to the input.

`encode` is any function from a mono float32 signal `(samples,)` to one 1-D integer array per level.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from codeckit.metrics.base import MetricError, as_mono

Encode = Callable[[np.ndarray], Sequence[np.ndarray]]
SHIFT_FRACTIONS = (0.25, 0.5, 0.75)


def _changed(a: Sequence[np.ndarray], b: Sequence[np.ndarray], frames: Sequence[slice]) -> tuple[int, int]:
    """(tokens that differ, tokens compared) over `frames[l]` of each level l."""
    if len(a) != len(b) or len(a) != len(frames):
        raise MetricError(f"token stability: code streams have {len(a)} and {len(b)} levels")
    diff = total = 0
    for x, y, sl in zip(a, b, frames):
        x, y = np.asarray(x).reshape(-1)[sl], np.asarray(y).reshape(-1)[sl]
        if len(x) != len(y):
            raise MetricError(f"token stability: {len(x)} frames against {len(y)} at one level")
        diff += int(np.count_nonzero(x != y))
        total += len(x)
    return diff, total


def shift_instability(encode: Encode, audio, hop_length: int, fractions: Sequence[float] = SHIFT_FRACTIONS) -> float:
    """Mean fraction of tokens that change when the input starts `fraction * hop_length` samples later."""
    x = as_mono(audio, "audio").astype(np.float32)
    base = encode(x)
    rates = []
    for f in fractions:
        s = int(round(f * hop_length))
        if not 0 < s < hop_length:
            raise MetricError(f"token stability: shift {f} of hop {hop_length} is not a fraction of a hop")
        moved = encode(np.concatenate([np.zeros(s, np.float32), x]))
        frames = [slice(0, len(c) - 1) for c in base]  # the last frame sees the end padding
        diff, total = _changed(base, [m[: len(c)] for m, c in zip(moved, base)], frames)
        if total == 0:
            raise MetricError("token stability: the signal is too short (one frame per level)")
        rates.append(diff / total)
    return float(np.mean(rates))


def context_instability(
    encode: Encode, audio, hop_lengths: Sequence[int], pad_multiple: int, sample_rate: int, margin_s: float = 0.25
) -> float:
    """Fraction of tokens of a middle segment that differ between encoding it alone and inside the utterance."""
    x = as_mono(audio, "audio").astype(np.float32)
    start = math.ceil(len(x) / 4 / pad_multiple) * pad_multiple
    stop = (3 * len(x) // 4) // pad_multiple * pad_multiple
    margin = int(round(margin_s * sample_rate))
    lo, hi = start + margin, stop - margin  # compared samples, away from the segment's edges
    frames = [slice(math.ceil(lo / h), hi // h) for h in hop_lengths]  # whole frames inside [lo, hi)
    if any(sl.stop <= sl.start for sl in frames):
        raise MetricError(
            f"token stability: {len(x) / sample_rate:.2f} s is too short for the context test "
            f"(its middle half less {margin_s} s at each end holds no whole frame)"
        )
    alone = encode(x[start:stop])
    inside = encode(x)
    shifted = [slice(sl.start - start // h, sl.stop - start // h) for sl, h in zip(frames, hop_lengths)]
    diff = total = 0
    for lvl, (sl, sh) in enumerate(zip(frames, shifted)):
        d, t = _changed([np.asarray(inside[lvl])[sl]], [np.asarray(alone[lvl])[sh]], [slice(None)])
        diff, total = diff + d, total + t
    return diff / total


def noise_instability(encode: Encode, audio, snr_db: float = 40.0, seed: int = 0) -> float:
    """Fraction of tokens that change when white noise at `snr_db` (over the whole signal) is added."""
    x = as_mono(audio, "audio").astype(np.float32)
    power = float(np.mean(x.astype(np.float64) ** 2))
    if power == 0:
        raise MetricError("token stability: the signal is silent, so no SNR can be set")
    noise = np.random.default_rng(seed).standard_normal(len(x)) * math.sqrt(power / 10 ** (snr_db / 10))
    base, noisy = encode(x), encode((x + noise).astype(np.float32))
    diff, total = _changed(base, noisy, [slice(None)] * len(base))
    return diff / total


STABILITY_LABELS = {
    "stab.shift": "Tok. Δ shift ↓",
    "stab.context": "Tok. Δ context ↓",
    "stab.noise": "Tok. Δ noise ↓",
}
STABILITY_NOTE = (
    "Token stability (neural codecs; fraction of tokens that change, 0 is best): shift = input delayed by 1/4, "
    "1/2 and 3/4 of a hop (mean); context = the middle half of each file encoded alone versus inside the file, "
    "0.25 s from the segment's edges left out; noise = white noise at 40 dB SNR added."
)
