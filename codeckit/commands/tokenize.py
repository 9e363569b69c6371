"""`codeckit tokenize IN... --model MODEL --out DIR`: one token file per input audio file, or with `--shards`
corpus shards (Lhotse Shar / Parquet) from many workers (see `codeckit.shards`, docs/corpus_tokenization.md).

IN may be audio files, directories (searched recursively for audio files; sub-folders are kept under
DIR) or Kaldi `wav.scp` lists (`utt_id path` per line; outputs are named by utterance id). With
`--jobs J` the inputs are shared among J worker processes, each holding its own copy of the model.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from codeckit.commands.shards import add_shard_args, run_tokenize_shards
from codeckit.errors import CodeckitError
from codeckit.fileio import read_id_lines

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64")


_STATE: dict = {}  # "model": the model each worker process loads once


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenize", help="audio files -> token files", description=__doc__)
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio file, directory or wav.scp")
    p.add_argument("--n-quantizers", type=int, default=None, help="keep the first N levels (default: all)")
    add_model_args(p)
    add_shard_args(p)
    p.set_defaults(func=run)


def add_model_args(p: argparse.ArgumentParser) -> None:
    """Options shared by tokenize and detokenize."""
    p.add_argument("--model", required=True, help="model directory, a model name in --cache-dir, or hf:ORG/NAME[@REV]")
    p.add_argument("--cache-dir", default=None, help="model cache folder for names (default ~/.cache/codeckit/models)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0 (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per job (default: cores / jobs)")
    p.add_argument("--chunk-seconds", type=float, default=20.0, help="long-audio chunk length (default 20)")
    p.add_argument("--context-seconds", type=float, default=2.0, help="context each side of a chunk (default 2)")


def collect_inputs(inputs: Sequence[str], suffixes: Sequence[str]) -> list[tuple[str, Path]]:
    """(output key, source path) for every file named, found under a directory, or listed in a `.scp` file.

    Keys are file stems (a directory's files keep their relative folders) or utterance ids; a key used
    twice raises CodeckitError naming both sources.
    """
    found: list[tuple[str, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and _has_suffix(f, suffixes))
            if not files:
                raise CodeckitError(f"no files ending in {', '.join(suffixes)} under {p}")
            found += [(_strip(f.relative_to(p).as_posix(), suffixes), f) for f in files]
        elif p.is_file() and (p.name == "wav.scp" or p.suffix == ".scp"):
            found += _read_scp(p)
        elif p.is_file():
            found.append((_strip(p.name, suffixes), p))
        else:
            raise CodeckitError(f"input not found: {p}")
    seen: dict[str, Path] = {}
    for key, src in found:
        if key in seen:
            raise CodeckitError(f"two inputs would write the same output '{key}': {seen[key]} and {src}")
        seen[key] = src
    return found


def run_jobs(
    args: argparse.Namespace, work: Callable[[Path, Path], object], jobs: list[tuple[Path, Path]], what: str
) -> int:
    """Run `work(src, dst)` for each job, in `args.jobs` processes, with a progress bar; failures are listed."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    from multiprocessing import get_context

    from tqdm import tqdm

    if args.jobs < 1:
        raise CodeckitError(f"--jobs must be >= 1, got {args.jobs}")
    if args.threads is not None and args.threads < 1:
        raise CodeckitError(f"--threads must be >= 1, got {args.threads}")
    if not 0 < args.chunk_seconds < float("inf") or not 0 <= args.context_seconds < float("inf"):
        raise CodeckitError(
            f"--chunk-seconds must be > 0 and --context-seconds >= 0, got {args.chunk_seconds}, {args.context_seconds}"
        )
    n_jobs = min(args.jobs, len(jobs))
    threads = args.threads or max(1, (os.cpu_count() or 1) // n_jobs)
    model = args.model
    if model.startswith("hf:"):  # download and convert once, here, not in every worker
        from codeckit.api import resolve_model

        model = str(resolve_model(model, args.cache_dir))
    init = (model, args.device, threads, args.cache_dir, args.chunk_seconds, args.context_seconds)
    failures: list[str] = []
    if n_jobs == 1:
        _init_worker(*init)  # before the progress bar: an error is then the only line
        with tqdm(total=len(jobs), desc=what, unit="file") as bar:
            for src, dst in jobs:
                _do(work, src, dst, failures, bar)
    else:
        bar = tqdm(total=len(jobs), desc=what, unit="file")
        with ProcessPoolExecutor(
            n_jobs, mp_context=get_context("spawn"), initializer=_init_worker_safely, initargs=init
        ) as ex:
            futures = {ex.submit(_call, work, src, dst): src for src, dst in jobs}
            try:
                for fut in as_completed(futures):
                    err = fut.result()
                    if err:
                        failures.append(f"{futures[fut]}: {err}")
                        bar.write(f"codeckit: {futures[fut]}: {err}")
                    bar.update()
            except BrokenProcessPool:  # a worker was killed (out of memory, a signal) or crashed
                for fut in futures:
                    fut.cancel()
                done = sum(f.done() and not f.cancelled() and f.exception() is None for f in futures)
                raise CodeckitError(
                    f"a worker process died abruptly (killed by a signal or out of memory?) after {done} of "
                    f"{len(jobs)} inputs; outputs already written are complete, the rest were not written"
                ) from None
            finally:
                bar.close()
    if failures:
        raise CodeckitError(f"{len(failures)} of {len(jobs)} inputs failed; first: {failures[0]}")
    return 0


def tokenize_one(src: Path, dst: Path, n_quantizers: int | None = None) -> None:
    """Worker task: tokenize `src` into the token file `dst` with this process's model."""
    _STATE["model"].tokenize_to_file(src, dst, n_quantizers=n_quantizers)


def run(args: argparse.Namespace) -> int:
    from functools import partial

    from codeckit.tokens.tokenfile import TOKEN_SUFFIX

    if any(getattr(args, k, None) for k in ("shards", "verify", "job", "num_jobs", "layout", "strict")):
        return run_tokenize_shards(args, collect_inputs, AUDIO_SUFFIXES)
    out = Path(args.out)
    jobs = [(src, out / f"{key}{TOKEN_SUFFIX}") for key, src in collect_inputs(args.inputs, AUDIO_SUFFIXES)]
    return run_jobs(args, partial(tokenize_one, n_quantizers=args.n_quantizers), jobs, "tokenize")


def _init_worker(model, device, threads, cache_dir, chunk_seconds, context_seconds) -> None:
    from codeckit.api import load

    _STATE["model"] = load(
        model,
        device=device,
        threads=threads,
        cache_dir=cache_dir,
        chunk_seconds=chunk_seconds,
        context_seconds=context_seconds,
    )


def _init_worker_safely(*init) -> None:
    """`_init_worker` in a pool process: an error is kept and reported by every job, not raised (an
    initializer that raises breaks the pool and loses the message)."""
    try:
        _init_worker(*init)
    except Exception as e:  # noqa: BLE001 - reported by each job as its failure
        _STATE["init_error"] = _message(e)


def _call(work: Callable[[Path, Path], object], src: Path, dst: Path) -> str | None:
    """Run one job; the error message, or None on success (errors cross the process boundary as text)."""
    if "init_error" in _STATE:
        return f"cannot load the model: {_STATE['init_error']}"
    try:
        work(src, dst)
    except Exception as e:  # noqa: BLE001 - every failure is one line naming the input, never a traceback
        return _message(e)
    return None


def _message(e: BaseException) -> str:
    """An error as one line: codeckit's own errors as they are, others with their type."""
    text = str(e) if isinstance(e, (CodeckitError, OSError)) else f"{type(e).__name__}: {e}"
    return " ".join(text.split("\n")).strip() or type(e).__name__


def _do(work, src, dst, failures, bar) -> None:
    err = _call(work, src, dst)
    if err:
        failures.append(f"{src}: {err}")
        bar.write(f"codeckit: {src}: {err}")
    bar.update()


def _has_suffix(path: Path, suffixes: Sequence[str]) -> bool:
    return any(path.name.lower().endswith(s) for s in suffixes)


def _strip(name: str, suffixes: Sequence[str]) -> str:
    for s in sorted(suffixes, key=len, reverse=True):
        if name.lower().endswith(s):
            return name[: -len(s)]
    return Path(name).stem if "." in Path(name).name else name


def _read_scp(path: Path) -> list[tuple[str, Path]]:
    """`utt_id path` lines of a Kaldi list; relative paths are taken from the current directory."""
    out = []
    lines = read_id_lines(path, lambda n, line: CodeckitError(f"{path}:{n}: expected 'utt_id path', got {line!r}"))
    for n, key, src in lines:
        if src.endswith("|"):
            raise CodeckitError(f"{path}:{n}: piped commands are not supported; give a file path for '{key}'")
        out.append((key, Path(src)))
    return out
