"""Intelligibility as an ASR word error rate: offline pocketsphinx (its packaged US-English model) at 16 kHz.

The transcript and the recognised words are normalised the same way (lowercase, punctuation and hyphens
become spaces, apostrophes inside words kept, digits spelled out as English cardinals), then compared by a
word-level Levenshtein distance: WER = (substitutions + deletions + insertions) / reference words.
English ASR on other languages is meaningless, so a transcript with fewer than `MIN_IN_VOCABULARY` of its
words in the recogniser's dictionary is not scored (a MetricError says so).
"""

from __future__ import annotations

import functools
import re

import numpy as np

from codeckit.metrics.base import MetricError, as_mono, at_rate

ASR_RATE = 16000  # the rate of pocketsphinx's en-us acoustic model
# At most this many active HMMs per frame: 1.9x faster than pocketsphinx's unbounded default at the same WER
# (23 English test files of egs/synth_speech: 0.607 against 0.604, real-time factor 0.38 against 0.72).
MAX_HMMS_PER_FRAME = 3000
ASR_NAME = f"pocketsphinx-5 en-us, maxhmmpf {MAX_HMMS_PER_FRAME}"  # what a cached WER was computed with (cache key)
MIN_IN_VOCABULARY = 0.8  # share of transcript words the English dictionary must know for a WER to be scored

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_ONES += "seventeen eighteen nineteen"
ONES = _ONES.split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell_number(n: int) -> str:
    """A non-negative integer below 10**9 as English words ('1984' -> 'one thousand nine hundred eighty four')."""
    if not 0 <= n < 10**9:
        raise MetricError(f"cannot spell the number {n} (0 .. 999999999 only)")
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{spell_number(head)} {name}" + ("" if rest == 0 else " " + spell_number(rest))
    raise AssertionError(n)  # unreachable: every n >= 100 matches a size


def normalize(text: str) -> list[str]:
    """Words of `text` as compared: lowercase, punctuation and hyphens dropped, digits spelled out."""
    text = re.sub(r"\d+", lambda m: f" {spell_number(int(m.group()))} ", text.lower())
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return [w for w in words if w]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance: the fewest substitutions, deletions and insertions."""
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of `hypothesis` against `reference` after `normalize`; an empty reference is a MetricError."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        raise MetricError(f"WER needs a reference transcript with words, got {reference!r}")
    return edit_distance(ref, hyp) / len(ref)


@functools.cache
def _decoder():
    """One pocketsphinx decoder per process (loading the model takes seconds)."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise MetricError("WER needs pocketsphinx: pip install pocketsphinx (or codeckit[units])") from None
    return Decoder(samprate=ASR_RATE, maxhmmpf=MAX_HMMS_PER_FRAME, loglevel="FATAL")


@functools.cache
def _dictionary() -> frozenset[str]:
    """The words the recogniser's pronunciation dictionary knows (alternates like 'read(2)' folded)."""
    from pocketsphinx import get_model_path

    path = f"{get_model_path()}/en-us/cmudict-en-us.dict"
    with open(path, encoding="utf-8") as f:
        return frozenset(line.split(maxsplit=1)[0].split("(")[0] for line in f if line.strip())


def check_english(transcript: str) -> None:
    """A MetricError unless at least MIN_IN_VOCABULARY of the transcript's words are English dictionary words."""
    words = normalize(transcript)
    if not words:
        raise MetricError(f"WER needs a reference transcript with words, got {transcript!r}")
    known = sum(w in _dictionary() for w in words) / len(words)
    if known < MIN_IN_VOCABULARY:
        raise MetricError(
            f"not scored: {known:.0%} of the transcript's words are in the English ASR dictionary "
            f"(< {MIN_IN_VOCABULARY:.0%}; not English?)"
        )


def transcribe(audio, sample_rate: int) -> str:
    """The words pocketsphinx recognises in mono `audio` at `sample_rate` (resampled to 16 kHz with soxr)."""
    x = at_rate(as_mono(audio, "audio"), sample_rate, ASR_RATE)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()
    dec = _decoder()
    try:
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
    except RuntimeError as e:
        raise MetricError(f"pocketsphinx failed: {e}") from None
    hyp = dec.hyp()
    return "" if hyp is None else hyp.hypstr


def wer(audio, sample_rate: int, transcript: str) -> float:
    """Word error rate of pocketsphinx's transcription of `audio` against `transcript` (0 is perfect; may pass 1)."""
    check_english(transcript)
    return word_error_rate(transcript, transcribe(audio, sample_rate))
