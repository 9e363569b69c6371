"""From cached records to per-codec summaries: means over files, failures counted, bitrates and speed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codeckit.bench.cache import Record, ResultCache
from codeckit.bench.data import Item
from codeckit.bench.delays import CodecDelay
from codeckit.bench.runner import DELAY_KEY, ORIGINAL, RUN_KEYS, STABILITY_KEYS, cache_metric, tokens_path, work_dir
from codeckit.bench.specs import CodecEntry


@dataclass
class MetricSummary:
    """A metric's mean over the files where it succeeded, and how many failed (with their reasons)."""

    mean: float | None
    n_ok: int
    n_failed: int
    errors: list[str] = field(default_factory=list)


@dataclass
class CodecSummary:
    """One leaderboard row."""

    name: str
    kind: str
    key: str
    files: int
    failed_files: int
    nominal_bps: float | None
    effective_bps: float | None
    effective_source: str  # "token entropy" or "bytes produced"
    disk_bps: float | None  # bytes on disk: compressed token files (.ckc) or the classic codec's output
    delay_ms: float | None  # the codec's delay that every file was scored with
    delay_source: str  # "declared" or "estimated" (one delay over the whole set)
    delay_estimate_ms: float | None  # the set-wide estimate, also for codecs that declare their delay
    delay_method: str  # what the estimate was found on: "waveform" or "envelope" ("" without an estimate)
    encode_rtf: float | None
    decode_rtf: float | None
    metrics: dict[str, MetricSummary]
    stability: dict[str, MetricSummary] = field(default_factory=dict)  # token stability (neural codecs)
    # transcript metrics (WER) of the original audio, over the files where this codec's value was computed
    original: dict[str, MetricSummary] = field(default_factory=dict)
    run_errors: list[str] = field(default_factory=list)


def _token_bitrates(
    entry: CodecEntry, items: Sequence[Item], out_dir: Path, seconds: float
) -> tuple[float | None, float | None]:
    """(effective, disk) bits per second from the items' stored tokens, each token file read once.

    Effective: the entropy of each level's tokens over the set. Disk: the codec's compressed files (`.ckc`,
    header included), when its model directory holds a fitted context model (`codeckit compress fit`) and
    every item has its tokens; else None.
    """
    from codeckit.bench.codecs import open_codec
    from codeckit.compress import compressed_bits, has_context_model
    from codeckit.metrics.entropy import TokenHistogram

    paths = [tokens_path(work_dir(out_dir, entry), it) for it in items]
    present = [p for p in paths if p.exists()]
    if not present:
        return None, None
    codec = open_codec(entry, 0)
    hist = TokenHistogram(codec.codebook_sizes)
    with_disk = bool(seconds) and len(present) == len(paths) and has_context_model(entry.arg)
    bits = 0
    for p in present:
        with np.load(p) as z:
            codes = [z[f"arr_{i}"] for i in range(len(z.files))]
        hist.update(codes)
        if with_disk:
            bits += compressed_bits(entry.arg, codes, include_header=True)
    return hist.effective_bitrate(codec.frame_rates), (bits / seconds if with_disk else None)


def _mean(records: Sequence[Record]) -> MetricSummary:
    """The mean of the records that succeeded, with the failures counted and their errors kept."""
    vals = [r.value for r in records if r.error is None]
    errs = [r.error for r in records if r.error is not None]
    return MetricSummary(float(np.mean(vals)) if vals else None, len(vals), len(errs), errs)


def summarize(
    entries: Sequence[CodecEntry],
    items: Sequence[Item],
    cache: ResultCache,
    out_dir: str | Path,
    metrics: Sequence[str],
    delays: dict[str, CodecDelay],
) -> tuple[list[CodecSummary], list[dict]]:
    """Per-codec summaries and per-file rows (`codec`, `file`, then each key's value or error)."""
    out_dir = Path(out_dir)
    summaries, rows = [], []
    for entry in entries:
        per, ok_items, run_errors = _collect(entry, items, cache, metrics, rows)
        s = _summary(entry, items, ok_items, per, run_errors, out_dir, metrics, delays[entry.key])
        s.original = _original(entry, items, cache, metrics)
        summaries.append(s)
    return summaries, rows


def _original(
    entry: CodecEntry, items: Sequence[Item], cache: ResultCache, metrics: Sequence[str]
) -> dict[str, MetricSummary]:
    """Each transcript metric of the original audio, over the files where `entry`'s value of it succeeded, so the
    two columns compare the same files; a failure on the original counts only where the codec's succeeded."""
    from codeckit.metrics.suite import METRICS

    out = {}
    for m in (m for m in metrics if METRICS[m].needs_text):
        records = []
        for item in items:
            key = cache_metric(m, item)
            mine, orig = cache.get(entry.key, item.key).get(key), cache.get(ORIGINAL.key, item.key).get(key)
            if mine is not None and mine.error is None and orig is not None:
                records.append(orig)
        out[m] = _mean(records)
    return out


def _collect(
    entry: CodecEntry, items: Sequence[Item], cache: ResultCache, metrics: Sequence[str], rows: list[dict]
) -> tuple[dict[str, list[Record]], list[Item], list[str]]:
    """One codec's cached records by key, the items whose run succeeded and the run errors; appends per-file rows."""
    from codeckit.metrics.suite import METRICS

    per: dict[str, list[Record]] = {}
    ok_items = []
    run_errors = []
    for item in items:
        stored = cache.get(entry.key, item.key)
        row: dict = {"codec": entry.name, "file": item.id}
        for k in (*RUN_KEYS, *STABILITY_KEYS, DELAY_KEY, *metrics):
            r = stored.get(cache_metric(k, item) if k in metrics else k)
            row[k] = None if r is None else (r.value if r.error is None else f"ERROR: {r.error}")
            if r is not None:
                per.setdefault(k, []).append(r)
        original = cache.get(ORIGINAL.key, item.key)
        for m in (m for m in metrics if METRICS[m].needs_text):  # the original audio's value beside the codec's
            r = original.get(cache_metric(m, item))
            row[f"{m}.orig"] = None if r is None else (r.value if r.error is None else f"ERROR: {r.error}")
        rows.append(row)
        run = [stored.get(k) for k in RUN_KEYS]
        if all(r is not None and r.error is None for r in run):
            ok_items.append(item)
        else:
            run_errors += [f"{item.id}: {r.error}" for r in run[:1] if r is not None and r.error]
    return per, ok_items, run_errors


def _summary(
    entry: CodecEntry,
    items: Sequence[Item],
    ok_items: list[Item],
    per: dict[str, list[Record]],
    run_errors: list[str],
    out_dir: Path,
    metrics: Sequence[str],
    delay: CodecDelay,
) -> CodecSummary:
    """One codec's leaderboard row from its records: bitrates, delay, speed and each metric's mean."""

    def total(k: str) -> float:
        return sum(r.value for r in per.get(k, []) if r.error is None)

    seconds = total("run.seconds")
    if entry.kind == "model":
        (effective, disk), source = _token_bitrates(entry, ok_items, out_dir, seconds), "token entropy"
    else:
        effective, source = (total("run.bits") / seconds if seconds else None), "bytes produced"
        disk = effective
    nominal = [r.value for r in per.get("run.nominal_bps", []) if r.error is None]
    return CodecSummary(
        name=entry.name,
        kind=entry.kind,
        key=entry.key,
        files=len(items),
        failed_files=len(items) - len(ok_items),
        nominal_bps=float(np.mean(nominal)) if nominal else None,
        effective_bps=effective,
        effective_source=source,
        disk_bps=disk,
        delay_ms=1000.0 * delay.used_s,
        delay_source=delay.source,
        delay_estimate_ms=None if delay.estimate_s is None else 1000.0 * delay.estimate_s,
        delay_method=delay.method,
        encode_rtf=total("run.encode_s") / seconds if seconds else None,
        decode_rtf=total("run.decode_s") / seconds if seconds else None,
        metrics={m: _mean(per.get(m, [])) for m in metrics},
        stability={k: _mean(per[k]) for k in STABILITY_KEYS if k in per},
        run_errors=run_errors,
    )


def finite(x: float | None) -> bool:
    """Whether `x` is a number to show: not None, NaN or infinite."""
    return x is not None and math.isfinite(x)
