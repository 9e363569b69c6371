"""The leaderboard run: every file through every codec, then every metric, in parallel processes.

Work is split per (codec, file) and done in two passes. The first runs the codecs (and, for neural
codecs, the token stability tests); then each codec's delay is settled once, for the whole set: the
delay the codec declares, or one estimated over all its decoded files (`delays.py`); the second pass
scores every file with that delay. Before each pass the main process asks the cache what is missing:
a pair whose results are stored (metrics with the same delay) is skipped, and a pair that only lacks
some metrics reuses its stored decoded audio. Workers return records; only the main process writes.
Metrics scored against a transcript (WER) are also computed once per file on the original audio, stored
under the pseudo-codec ORIGINAL, and cached under a key that names the ASR and the transcript's hash.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from codeckit.bench.cache import Record, ResultCache
from codeckit.bench.data import Item
from codeckit.bench.specs import CodecEntry
from codeckit.errors import CodeckitError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

RUN_KEYS = ("run.bits", "run.seconds", "run.nominal_bps", "run.encode_s", "run.decode_s")
STABILITY_KEYS = ("stab.shift", "stab.context", "stab.noise")
DELAY_KEY = "align.delay_ms"  # the delay the metrics of a pair were computed with
# the original audio, scored like a codec for the transcript metrics only (their "orig." columns)
ORIGINAL = CodecEntry("original", "original", "", "original")


class BenchError(CodeckitError, RuntimeError):
    """A leaderboard run that cannot go on (a worker process died)."""


@dataclass(frozen=True)
class Task:
    """One (codec, file) pair and what is missing for it: the codec run, stability tests, or metrics."""

    entry: CodecEntry
    item: Item
    work_dir: str
    need_run: bool = False
    stability: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    delay_s: float = 0.0  # the codec's delay, removed before scoring `metrics`


@dataclass
class RunStats:
    """What a bench run did (for logs and tests)."""

    pairs: int = 0
    codec_runs: int = 0
    metric_evaluations: int = 0
    skipped_pairs: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: RunStats) -> None:
        """Count `other`'s work into this one (pairs are counted by the caller)."""
        self.codec_runs += other.codec_runs
        self.metric_evaluations += other.metric_evaluations
        self.failures += other.failures


def cache_metric(metric: str, item: Item) -> str:
    """The cache's name for `metric` on `item`: the metric itself, or for a transcript metric the metric with a
    hash of the ASR and the transcript, so an edited transcript or another recogniser is scored again."""
    from codeckit.metrics.suite import METRICS
    from codeckit.metrics.wer import ASR_NAME

    if not METRICS[metric].needs_text:
        return metric
    digest = hashlib.sha1("\n".join((ASR_NAME, item.text or "")).encode()).hexdigest()
    return f"{metric}#{digest[:12]}"


def work_dir(out_dir: str | Path, entry: CodecEntry) -> Path:
    """Where a codec's decoded audio and tokens live (by content key, so a rename keeps them)."""
    return Path(out_dir) / "work" / f"{entry.name}-{entry.short_key}"


def decoded_path(task_dir: str | Path, item: Item) -> Path:
    return Path(task_dir) / f"{item.id}.wav"


def tokens_path(task_dir: str | Path, item: Item) -> Path:
    return Path(task_dir) / f"{item.id}.npz"


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):
        pass


def _stability_records(task: Task, reference: torch.Tensor, sr: int) -> list[Record]:
    """The token stability tests of `task.stability` on one file (neural codecs only)."""
    from codeckit.bench.codecs import stability_tests

    ck, fk = task.entry.key, task.item.key
    records = []
    for key, fn in stability_tests(task.entry, sr).items():
        if key not in task.stability:
            continue
        try:
            records.append(Record(ck, fk, key, float(fn(reference[0].numpy()))))
        except Exception as e:  # recorded against the codec and file, never hidden
            records.append(Record(ck, fk, key, None, f"{type(e).__name__}: {e}"))
    return records


def process(task: Task) -> list[Record]:
    """Run the codec (if needed), the missing stability tests and metrics for one pair; failures become records."""
    from codeckit.audio import read_audio, write_audio
    from codeckit.bench.codecs import run_codec
    from codeckit.fileio import atomic_path
    from codeckit.metrics.base import MetricError
    from codeckit.metrics.suite import score

    ck, fk = task.entry.key, task.item.key
    records: list[Record] = []
    reference, sr = read_audio(task.item.path, channels="mono")
    wav = decoded_path(task.work_dir, task.item)
    if task.need_run:
        try:
            out = run_codec(task.entry, reference, sr)
        except Exception as e:  # any failure of a codec is recorded against it, never hidden
            reason = f"codec failed: {type(e).__name__}: {e}"
            return [Record(ck, fk, k, None, reason) for k in RUN_KEYS]
        write_audio(wav, out.decoded, sr, subtype="FLOAT")
        if out.tokens is not None:
            with atomic_path(tokens_path(task.work_dir, task.item)) as tmp:
                np.savez(tmp, *out.tokens)
        seconds = reference.shape[-1] / sr
        values = (out.bits, seconds, out.nominal_bps, out.encode_s, out.decode_s)
        records += [Record(ck, fk, k, float(v)) for k, v in zip(RUN_KEYS, values)]
    if task.stability:
        records += _stability_records(task, reference, sr)
    if task.metrics:
        original = task.entry.kind == ORIGINAL.kind
        decoded = reference if original else read_audio(wav, sr, channels="mono")[0]
        delay = int(round(task.delay_s * sr))
        name = {m: cache_metric(m, task.item) for m in task.metrics}
        try:
            s = score(reference, decoded, sr, task.metrics, delay=delay, text=task.item.text)
        except MetricError as e:
            reason = f"alignment failed: {e}"
            return records + [Record(ck, fk, k, None, reason) for k in (DELAY_KEY, *name.values())]
        records.append(Record(ck, fk, DELAY_KEY, s.delay_ms))
        records += [Record(ck, fk, name[k], v) for k, v in s.values.items()]
        records += [Record(ck, fk, name[k], None, e) for k, e in s.errors.items()]
    return records


def _usable(stored: dict[str, Record], key: str, retry_failed: bool) -> bool:
    r = stored.get(key)
    return r is not None and (r.error is None or not retry_failed)


def _run_failed(stored: dict[str, Record]) -> bool:
    return any(k in stored and stored[k].error for k in RUN_KEYS)


def plan_runs(
    entries: Sequence[CodecEntry], items: Sequence[Item], cache: ResultCache, out_dir: str | Path,
    retry_failed: bool = False,
) -> list[Task]:  # fmt: skip
    """First pass: the codec runs (decoded audio, tokens) and token stability tests still to do."""
    tasks = []
    for entry in entries:
        d = work_dir(out_dir, entry)
        for item in items:
            stored = cache.get(entry.key, item.key)
            failed = _run_failed(stored)
            if failed and not retry_failed:
                continue  # the codec failed on this file before; its reason is stored and reported
            files = decoded_path(d, item).exists() and (entry.kind != "model" or tokens_path(d, item).exists())
            need_run = failed or not files or not all(k in stored for k in RUN_KEYS)
            stab = STABILITY_KEYS if entry.kind == "model" else ()
            missing = tuple(k for k in stab if need_run or not _usable(stored, k, retry_failed))
            if need_run or missing:
                tasks.append(Task(entry, item, str(d), need_run, stability=missing))
    return tasks


def plan_metrics(
    entries: Sequence[CodecEntry], items: Sequence[Item], cache: ResultCache, out_dir: str | Path,
    metrics: Sequence[str], delays_s: dict[str, float], retry_failed: bool = False,
) -> list[Task]:  # fmt: skip
    """Second pass: metrics still to compute with each codec's delay (`delays_s` by codec key).

    A pair's stored metrics count only if they were computed with the codec's present delay; a codec
    whose delay changed (another test set, a re-estimate) is scored again.
    """
    tasks = []
    rates = {item.key: item_rate(item) for item in items}  # each file's header read once, not once per codec
    for entry in entries:
        d = work_dir(out_dir, entry)
        for item in items:
            stored = cache.get(entry.key, item.key)
            if _run_failed(stored) or not all(k in stored for k in RUN_KEYS):
                continue
            sr = rates[item.key]
            used = stored.get(DELAY_KEY)
            want_ms = 1000.0 * round(delays_s[entry.key] * sr) / sr
            if used is not None and used.error and not retry_failed:
                continue  # alignment failed on this file before; the reason is stored and reported
            same_delay = used is not None and used.error is None and abs(used.value - want_ms) < 1e-6
            missing = tuple(
                m for m in metrics if not (same_delay and _usable(stored, cache_metric(m, item), retry_failed))
            )
            if missing:
                tasks.append(Task(entry, item, str(d), metrics=missing, delay_s=delays_s[entry.key]))
    return tasks


def plan_original(
    items: Sequence[Item], cache: ResultCache, metrics: Sequence[str], retry_failed: bool = False
) -> list[Task]:
    """The transcript metrics (WER) of the original audio of every item, where not cached yet."""
    from codeckit.metrics.suite import METRICS

    text_metrics = [m for m in metrics if METRICS[m].needs_text]
    tasks = []
    for item in items:
        stored = cache.get(ORIGINAL.key, item.key)
        missing = tuple(m for m in text_metrics if not _usable(stored, cache_metric(m, item), retry_failed))
        if missing:
            tasks.append(Task(ORIGINAL, item, "", metrics=missing))
    return tasks


def item_rate(item: Item) -> int:
    """The sample rate of an item's file (read from its header)."""
    import soundfile as sf

    return int(sf.info(str(item.path)).samplerate)


def execute(
    tasks: Sequence[Task], cache: ResultCache, jobs: int = 1, progress: bool = True, desc: str = "bench"
) -> RunStats:
    """Run `tasks` (in `jobs` worker processes when > 1), storing each pair's records as it finishes."""
    from tqdm import tqdm

    stats = RunStats(pairs=len(tasks))
    if not tasks:
        return stats
    bar = tqdm(total=len(tasks), desc=desc, unit="pair", disable=not progress)

    def finish(task: Task, records: list[Record]) -> None:
        cache.put(records)
        stats.codec_runs += int(task.need_run)
        stats.metric_evaluations += len(task.metrics)
        stats.failures += [f"{task.entry.name} / {task.item.id} / {r.metric}: {r.error}" for r in records if r.error]
        bar.update(1)

    def crashed(task: Task, err: str) -> list[Record]:
        keys = (*(RUN_KEYS if task.need_run else ()), *task.stability)
        keys += (DELAY_KEY, *(cache_metric(m, task.item) for m in task.metrics)) if task.metrics else ()
        return [Record(task.entry.key, task.item.key, k, None, err) for k in keys]

    try:
        if jobs <= 1:
            for task in tasks:
                try:
                    records = process(task)
                except Exception as e:
                    log.debug(traceback.format_exc())
                    records = crashed(task, f"worker error: {type(e).__name__}: {e}")
                finish(task, records)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker) as pool:
                futures = {pool.submit(process, t): t for t in tasks}
                for fut in as_completed(futures):
                    task = futures[fut]
                    try:
                        records = fut.result()
                    except BrokenProcessPool:
                        # a worker died (a signal, out of memory, a crash in native code): every pending pair
                        # would fail the same way; what finished is cached, the command fails naming the pair
                        for f in futures:
                            f.cancel()
                        raise BenchError(
                            f"a worker process died abruptly while running {task.entry.name} on {task.item.id} "
                            f"(killed by a signal or out of memory?); {stats.pairs - bar.n} pair(s) not done, "
                            "finished ones are cached: run the command again to continue"
                        ) from None
                    except Exception as e:
                        records = crashed(task, f"worker error: {type(e).__name__}: {e}")
                    finish(task, records)
    finally:
        bar.close()
    return stats
