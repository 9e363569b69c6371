"""Running a corpus tokenization three ways with one code path: N local processes (`--jobs N`), ranks of
`torchrun` (RANK / WORLD_SIZE from the environment, read where training reads them), or array jobs
(`--job JOB --num-jobs N` under run.pl / slurm.pl `JOB=1:N`). Each worker takes its own contiguous range of
shards; nothing coordinates them but the plan they all compute the same way.
"""

from __future__ import annotations

import os
import queue
from dataclasses import replace
from multiprocessing import get_context
from multiprocessing.context import BaseContext

from codeckit.errors import CodeckitError
from codeckit.shards.errors import ShardError
from codeckit.shards.progress import LazyBar
from codeckit.shards.work import WorkerConfig, WorkerReport, run_worker


def resolve_rank(job: int | None, num_jobs: int | None) -> tuple[int, int, int, int]:
    """(rank, world size, local rank, workers on this machine): from `--job J --num-jobs N` (J counts from 1, as
    `JOB=1:N` does), else from torchrun's environment, else one worker."""
    from codeckit.train.distributed import env_rank

    if (job is None) != (num_jobs is None):
        raise ShardError("--job and --num-jobs go together (e.g. --job JOB --num-jobs 4 under run.pl JOB=1:4)")
    if job is not None:
        if not 1 <= job <= num_jobs:
            raise ShardError(f"--job {job} is outside 1..{num_jobs} (--num-jobs)")
        return job - 1, num_jobs, 0, num_jobs
    rank, world, local_rank = env_rank()
    return rank, world, local_rank, int(os.environ.get("LOCAL_WORLD_SIZE", world))


def run_sharded(cfg: WorkerConfig, jobs: int = 1, job: int | None = None, num_jobs: int | None = None) -> list:
    """Tokenize this launcher's share of the corpus, in `jobs` local processes; every worker's report."""
    if jobs < 1:
        raise ShardError(f"--jobs must be >= 1, got {jobs}")
    rank, world, local_rank, here = resolve_rank(job, num_jobs)
    if cfg.threads is None and "OMP_NUM_THREADS" not in os.environ:
        cfg = replace(cfg, threads=max(1, (os.cpu_count() or 1) // (here * jobs)))
    if jobs == 1:
        bar = LazyBar(f"tokenize, worker {rank + 1}/{world}")
        try:
            report = run_worker(cfg, rank, world, local_rank, bar.emit)
        except BaseException:
            bar.close(ok=False)
            raise
        bar.close()
        return [report]
    return _run_local(cfg, jobs, rank, world, local_rank)


def worker_context(device: str) -> BaseContext:
    """How local workers start: forked on a POSIX CPU run, so each begins with torch and codeckit already imported
    (a spawned worker spends 2-3 s importing them again, a large share of a short corpus run and a cost that
    unbalances the processes); spawned for GPUs, since CUDA cannot start in a forked child, and elsewhere."""
    return get_context("fork" if os.name == "posix" and device == "cpu" else "spawn")


def _run_local(cfg: WorkerConfig, jobs: int, rank: int, world: int, local_rank: int) -> list[WorkerReport]:
    """`jobs` worker processes as ranks rank*jobs .. rank*jobs+jobs-1 of world*jobs; one progress bar for all."""
    ctx = worker_context(cfg.device)
    events, stop = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_child, args=(cfg, rank * jobs + i, world * jobs, local_rank * jobs + i, i, events, stop))
        for i in range(jobs)
    ]
    for p in procs:
        p.start()
    reports: dict[int, WorkerReport] = {}
    failures: dict[int, str] = {}  # in the order they came: the first is the cause, later ones may be its effect
    bar = LazyBar(f"tokenize, {jobs} processes" + (f" (launcher {rank + 1}/{world})" if world > 1 else ""))
    try:
        while len(reports) + len(failures) < jobs:
            try:
                i, event, value = events.get(timeout=0.5)
            except queue.Empty:
                for i, p in enumerate(procs):
                    if not p.is_alive() and p.exitcode != 0 and i not in reports and i not in failures:
                        failures[i] = f"worker {i} died (exit code {p.exitcode}); a rerun redoes its unfinished shards"
                continue
            if event == "report":
                reports[i] = value
            elif event == "error":
                failures[i] = value
                stop.set()  # the others stop after their batch (never killed mid-write: that would break the queue)
            else:
                bar.emit(event, value)
    finally:
        bar.close(ok=not failures)
        for p in procs:
            p.join()
    if failures:
        raise ShardError(next(iter(failures.values())))
    return [reports[i] for i in range(jobs)]


def _child(cfg: WorkerConfig, rank: int, world: int, local_rank: int, i: int, events, stop) -> None:
    """A worker process: progress, its report or its one-line error go to the parent through `events`; it stops
    at its next progress report once `stop` is set (another worker failed)."""

    def emit(event: str, seconds: float) -> None:
        if stop.is_set():
            raise ShardError("stopped: another worker failed")
        events.put((i, event, seconds))

    try:
        report = run_worker(cfg, rank, world, local_rank, emit)
    except CodeckitError as e:
        events.put((i, "error", str(e)))
        return
    except Exception as e:  # noqa: BLE001 - crosses the process boundary as one line
        events.put((i, "error", f"{type(e).__name__}: {e}"))
        return
    events.put((i, "report", report))
