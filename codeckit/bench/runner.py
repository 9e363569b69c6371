"""The leaderboard run: every file through every codec, then every metric, in parallel processes.

Work is split per (codec, file). Before submitting, the main process asks the cache what is missing:
a pair whose codec run and metrics are all stored is skipped, and a pair that only lacks some metrics
reuses its stored decoded audio. Workers return records; only the main process writes the cache.
"""

from __future__ import annotations

import logging
import multiprocessing
import traceback
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codeckit.bench.cache import Record, ResultCache
from codeckit.bench.data import Item
from codeckit.bench.specs import CodecEntry

log = logging.getLogger(__name__)

RUN_KEYS = ("run.bits", "run.seconds", "run.nominal_bps", "run.encode_s", "run.decode_s")
DELAY_KEY = "align.delay_ms"


@dataclass(frozen=True)
class Task:
    """One (codec, file) pair and what is missing for it."""

    entry: CodecEntry
    item: Item
    work_dir: str
    need_run: bool
    metrics: tuple[str, ...]
    need_delay: bool = True


@dataclass
class RunStats:
    """What a bench run did (for logs and tests)."""

    pairs: int = 0
    codec_runs: int = 0
    metric_evaluations: int = 0
    skipped_pairs: int = 0
    failures: list[str] = field(default_factory=list)


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


def process(task: Task) -> list[Record]:
    """Run the codec (if needed) and the missing metrics for one pair; failures become error records."""
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
            return [Record(ck, fk, k, None, reason) for k in (*RUN_KEYS, DELAY_KEY, *task.metrics)]
        write_audio(wav, out.decoded, sr, subtype="FLOAT")
        if out.tokens is not None:
            with atomic_path(tokens_path(task.work_dir, task.item)) as tmp:
                np.savez(tmp, *out.tokens)
        seconds = reference.shape[-1] / sr
        values = (out.bits, seconds, out.nominal_bps, out.encode_s, out.decode_s)
        records += [Record(ck, fk, k, float(v)) for k, v in zip(RUN_KEYS, values)]
        decoded = out.decoded
    else:
        decoded = read_audio(wav, sr, channels="mono")[0]
    if task.metrics or task.need_delay:
        try:
            s = score(reference, decoded, sr, task.metrics)
        except MetricError as e:
            reason = f"alignment failed: {e}"
            return records + [Record(ck, fk, k, None, reason) for k in (DELAY_KEY, *task.metrics)]
        records.append(Record(ck, fk, DELAY_KEY, s.delay_ms))
        records += [Record(ck, fk, k, v) for k, v in s.values.items()]
        records += [Record(ck, fk, k, None, e) for k, e in s.errors.items()]
    return records


def plan(
    entries: Sequence[CodecEntry],
    items: Sequence[Item],
    cache: ResultCache,
    out_dir: str | Path,
    metrics: Sequence[str],
    retry_failed: bool = False,
) -> tuple[list[Task], int]:
    """The tasks still to do, and how many pairs are complete already."""
    tasks, done = [], 0
    for entry in entries:
        d = work_dir(out_dir, entry)
        for item in items:
            stored = cache.get(entry.key, item.key)
            run_failed = any(k in stored and stored[k].error for k in RUN_KEYS)
            if run_failed and not retry_failed:
                done += 1  # the codec failed on this file before; its reason is stored and reported
                continue

            def usable(k: str, stored: dict = stored) -> bool:
                r = stored.get(k)
                return r is not None and (r.error is None or not retry_failed)

            files = decoded_path(d, item).exists() and (entry.kind != "model" or tokens_path(d, item).exists())
            need_run = run_failed or not files or not all(k in stored for k in RUN_KEYS)
            missing = tuple(m for m in metrics if not usable(m))
            need_delay = not usable(DELAY_KEY)
            if not (need_run or missing or need_delay):
                done += 1
                continue
            tasks.append(Task(entry, item, str(d), need_run, missing, need_delay))
    return tasks, done


def execute(tasks: Sequence[Task], cache: ResultCache, jobs: int = 1, progress: bool = True) -> RunStats:
    """Run `tasks` (in `jobs` worker processes when > 1), storing each pair's records as it finishes."""
    from tqdm import tqdm

    stats = RunStats(pairs=len(tasks))
    bar = tqdm(total=len(tasks), desc="bench", unit="pair", disable=not progress)

    def finish(task: Task, records: list[Record]) -> None:
        cache.put(records)
        stats.codec_runs += int(task.need_run)
        stats.metric_evaluations += len(task.metrics)
        stats.failures += [f"{task.entry.name} / {task.item.id} / {r.metric}: {r.error}" for r in records if r.error]
        bar.update(1)

    def crashed(task: Task, err: str) -> list[Record]:
        keys = (*RUN_KEYS,) if task.need_run else ()
        return [Record(task.entry.key, task.item.key, k, None, err) for k in (*keys, DELAY_KEY, *task.metrics)]

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
                    except Exception as e:
                        records = crashed(task, f"worker error: {type(e).__name__}: {e}")
                    finish(task, records)
    finally:
        bar.close()
    return stats
