"""Each codec's delay, settled once for the whole test set: the one it declares, else one estimated over all files.

The estimate (summed, energy-normalized cross-correlation of every file within +-`MAX_DELAY_S`, on the
waveforms or, for codecs that do not keep phase, on band envelopes: `metrics/align.py`) is also made for
codecs that declare their delay: a mismatch is named under the table, so a wrong declaration shows
instead of silently scoring misaligned audio.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeckit.bench.cache import ResultCache
from codeckit.bench.data import Item
from codeckit.bench.runner import RUN_KEYS, decoded_path, work_dir
from codeckit.bench.specs import CodecEntry

MAX_DELAY_S = 0.25
ESTIMATE_RATE = 16000  # files are compared at one rate so their correlation curves add up lag by lag


@dataclass(frozen=True)
class CodecDelay:
    """The delay used to score a codec, where it comes from, and the set-wide estimate beside it."""

    used_s: float
    source: str  # "declared" or "estimated"
    estimate_s: float | None  # None when no file decoded (nothing to estimate from)
    method: str = ""  # what the estimate was found on: "waveform" or "envelope"

    @property
    def mismatch_ms(self) -> float | None:
        """How far the estimate is from the declaration (0 for an estimated delay)."""
        return None if self.estimate_s is None else 1000.0 * abs(self.estimate_s - self.used_s)


def _pairs(entry: CodecEntry, items: Sequence[Item], cache: ResultCache, out_dir: Path) -> Iterator[tuple]:
    """(reference, decoded) at ESTIMATE_RATE for every file the codec decoded."""
    from codeckit.audio import read_audio

    d = work_dir(out_dir, entry)
    for item in items:
        stored = cache.get(entry.key, item.key)
        run = [stored.get(k) for k in RUN_KEYS]
        wav = decoded_path(d, item)
        if all(r is not None and r.error is None for r in run) and wav.exists():
            ref = read_audio(item.path, ESTIMATE_RATE, channels="mono")[0]
            deg = read_audio(wav, ESTIMATE_RATE, channels="mono")[0]
            yield ref[0].numpy(), deg[0].numpy()


def declared_delay_s(entry: CodecEntry) -> float | None:
    """The delay the codec of `entry` declares (seconds), or None."""
    from codeckit.bench.codecs import open_codec

    return open_codec(entry, ESTIMATE_RATE).delay_s


def resolve_delays(
    entries: Sequence[CodecEntry], items: Sequence[Item], cache: ResultCache, out_dir: str | Path
) -> dict[str, CodecDelay]:
    """Every codec's delay, by codec key (0 declared-less codecs with no decoded file: nothing to score)."""
    from codeckit.metrics.align import estimate_common_delay
    from codeckit.metrics.base import MetricError

    out = {}
    for entry in entries:
        try:
            est = estimate_common_delay(_pairs(entry, items, cache, Path(out_dir)), ESTIMATE_RATE, MAX_DELAY_S)
            estimate, method = est.lag / ESTIMATE_RATE, est.method
        except MetricError:  # no decoded file, or all silent
            estimate, method = None, ""
        declared = declared_delay_s(entry)
        if declared is not None:
            out[entry.key] = CodecDelay(declared, "declared", estimate, method)
        else:
            out[entry.key] = CodecDelay(estimate or 0.0, "estimated", estimate, method)
    return out
