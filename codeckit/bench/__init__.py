"""The leaderboard: codecs x files x metrics, cached, in parallel, reported as tables, plots and a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codeckit.bench.runner import RunStats
from codeckit.bench.summary import CodecSummary


@dataclass
class BenchResult:
    """What `run_bench` did and wrote."""

    stats: RunStats
    summaries: list[CodecSummary]
    outputs: dict[str, Path]


def run_bench(
    codecs: Sequence[str],
    data: str | Path,
    out_dir: str | Path,
    metrics: Sequence[str] | None = None,
    jobs: int = 1,
    retry_failed: bool = False,
    n_examples: int = 3,
    progress: bool = True,
    text: str | Path | None = None,
) -> BenchResult:
    """Score every file of `data` (a directory or wav.scp) with every codec SPEC; write the reports to `out_dir`.

    Transcripts (for WER) come from `text`, else a Kaldi `text` file beside the wav.scp; with transcripts and
    no metric list, WER is scored too, on every codec and on the original audio.
    """
    from codeckit.bench.cache import ResultCache
    from codeckit.bench.data import list_items
    from codeckit.bench.delays import resolve_delays
    from codeckit.bench.report import write_reports
    from codeckit.bench.runner import ORIGINAL, execute, plan_metrics, plan_original, plan_runs
    from codeckit.bench.specs import parse_specs
    from codeckit.bench.summary import summarize
    from codeckit.metrics.suite import DEFAULT_METRICS, TEXT_METRICS, check_metric_names

    entries = parse_specs(list(codecs))
    items = list_items(data, text)
    if metrics is None:
        metrics = DEFAULT_METRICS + (TEXT_METRICS if any(it.text is not None for it in items) else [])
    metrics = check_metric_names(list(metrics))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with ResultCache(out / "cache.sqlite") as cache:
        runs = plan_runs(entries, items, cache, out, retry_failed)
        stats = execute(runs, cache, jobs=jobs, progress=progress, desc="codecs")
        delays = resolve_delays(entries, items, cache, out)
        scoring = plan_metrics(
            entries, items, cache, out, metrics, {k: d.used_s for k, d in delays.items()}, retry_failed
        )
        scoring += plan_original(items, cache, metrics, retry_failed)
        stats.add(execute(scoring, cache, jobs=jobs, progress=progress, desc="metrics"))
        busy = {(t.entry.key, t.item.key) for t in (*runs, *scoring) if t.entry is not ORIGINAL}
        stats.pairs = len(busy)
        stats.skipped_pairs = len(entries) * len(items) - len(busy)
        summaries, per_file = summarize(entries, items, cache, out, metrics, delays)
    outputs = write_reports(out, entries, items, summaries, per_file, metrics, jobs=jobs, n_examples=n_examples)
    return BenchResult(stats, summaries, outputs)


__all__ = ["BenchResult", "run_bench"]
