"""One worker of a corpus run: plan, take its contiguous range of shards, tokenize each unfinished shard in
batches sorted by length, write it, record it.

Items are sorted longest first inside a shard, read a batch at a time, and handed to `CodecModel.tokenize` up to
`max_batch` at a time, which pads them, codes items of one padded length together and trims every item back
to its own frames. With `max_batch` 1 (the default on CPU, where batching does not make a convolutional encoder
faster) every item's codes are bit for bit what tokenizing it alone gives; with more (the GPU default, 32) they
agree up to float rounding (a batch runs other kernels), which can flip a rare code at a quantizer's decision
boundary. A file that cannot be read is named in the shard's error list and skipped (with `strict`, it stops
the run with one line).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from codeckit.errors import CodeckitError
from codeckit.shards.errors import ShardError
from codeckit.shards.index import is_done, record_path, shard_tag
from codeckit.shards.plan import make_plan, rank_shards, save_or_check_plan
from codeckit.shards.sources import Collect, Item, open_source
from codeckit.shards.write import Coded, write_shard

log = logging.getLogger("codeckit.shards")
Emit = Callable[[str, float], None]  # ("total" | "done", seconds of audio)


@dataclass
class WorkerConfig:
    """Everything a worker needs, the same for every worker of a run (picklable for spawned processes on GPUs)."""

    inputs: list[str]
    out: str
    model: str
    formats: list[str]
    collect: Collect
    suffixes: tuple[str, ...]
    cache_dir: str | None = None
    device: str = "cpu"
    threads: int | None = None
    chunk_seconds: float = 20.0
    context_seconds: float = 2.0
    n_quantizers: int | None = None
    layout: str | None = None
    shard_size: int = 1000
    batch_seconds: float = 120.0
    max_batch: int | None = None  # utterances per forward pass; None: 1 on CPU, 32 on GPU
    strict: bool = False


@dataclass
class WorkerReport:
    """What one worker did."""

    rank: int
    shards: list[int] = field(default_factory=list)  # its range
    written: int = 0
    skipped: int = 0  # finished by an earlier run
    utterances: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # "id (path): why", one per skipped utterance


def run_worker(cfg: WorkerConfig, rank: int, world: int, local_rank: int, emit: Emit) -> WorkerReport:
    """Tokenize the unfinished shards of worker `rank` of `world` into `cfg.out`, reporting progress to `emit`."""
    from codeckit.api import load
    from codeckit.train.distributed import resolve_device

    out = Path(cfg.out)
    source = open_source(cfg.inputs, cfg.shard_size, cfg.collect, cfg.suffixes)
    device = resolve_device(cfg.device, local_rank % max(1, torch.cuda.device_count()))
    model = load(cfg.model, device, cfg.threads, cfg.cache_dir, cfg.chunk_seconds, cfg.context_seconds)
    n = model.codec.spec.check_n_quantizers(cfg.n_quantizers, ShardError, where="--n-quantizers: ")
    plan = make_plan(source, model.codec.spec, model.identity, n, cfg.formats, cfg.layout)
    if cfg.layout:
        check_layout(cfg.layout, plan["codec"])
    save_or_check_plan(out, plan)
    max_batch = cfg.max_batch or (32 if device.type == "cuda" else 1)
    report = WorkerReport(rank, list(rank_shards(source.n_shards, rank, world)))
    for k in report.shards:  # what a killed run of this range left being written (or just renamed out)
        for stale in (out / ".tmp").glob(f"shard.{shard_tag(k)}.*"):
            shutil.rmtree(stale, ignore_errors=True)
    todo = [k for k in report.shards if not is_done(out, k)]
    report.skipped = len(report.shards) - len(todo)
    emit("total", sum(source.seconds(k) for k in todo))
    for k in todo:
        record_path(out, k).unlink(missing_ok=True)  # a stale record of files that changed
        items = source.shard(k)
        coded, errors = tokenize_items(model, items, n, (cfg.batch_seconds, max_batch), cfg.strict, emit)
        write_shard(out, k, plan, items, coded, errors)
        report.written += 1
        report.utterances += len(coded)
        report.seconds += sum(c.length for c in coded.values()) / model.sample_rate
        report.errors += [f"{e['where']}: {e['error']}" for e in errors]
    try:
        (out / ".tmp").rmdir()
    except OSError:
        pass  # another worker's shard is in progress, or nothing was written
    return report


def tokenize_items(
    model, items: list[Item], n: int, batch: tuple[float, int], strict: bool, emit: Emit
) -> tuple[dict[str, Coded], list[dict]]:
    """Codes of every readable item (by id) and the error list of the others, read longest first in batches of at
    most `batch[0]` seconds of audio and coded at most `batch[1]` items per forward pass."""
    batch_seconds, max_batch = batch
    errors: list[dict] = []
    seconds: dict[str, float] = {}
    for it in items:
        s = _seconds(it, errors, strict)
        if s is not None:
            seconds[it.id] = s
    order = sorted((it for it in items if it.id in seconds), key=lambda it: -seconds[it.id])
    coded: dict[str, Coded] = {}
    while order:
        group = [order.pop(0)]
        total = seconds[group[0].id]
        while order and total + seconds[order[0].id] <= batch_seconds:
            total += seconds[order[0].id]
            group.append(order.pop(0))
        coded.update(_encode_batch(model, group, n, max_batch, errors, strict))
        emit("done", total)
    return coded, errors


def _encode_batch(
    model, batch: list[Item], n: int, max_batch: int, errors: list[dict], strict: bool
) -> dict[str, Coded]:
    """Read one batch and tokenize it `max_batch` items at a time; an item that fails is listed in `errors`."""
    read = []
    for it in batch:
        try:
            read.append((it, *it.read(model.sample_rate, model.channels)))
        except Exception as e:  # noqa: BLE001 - any failure to read one file is that file's error
            _fail(it, e, errors, strict)
    coded: dict[str, Coded] = {}
    for i in range(0, len(read), max_batch):
        coded.update(_encode(model, read[i : i + max_batch], n, errors, strict))
    return coded


def _encode(model, read: list[tuple], n: int, errors: list[dict], strict: bool) -> dict[str, Coded]:
    """Codes of the read items (item, audio, source, rate) in one `tokenize` call; when it fails, each alone."""
    try:
        tokens = model.tokenize([a for _, a, _, _ in read], sr=model.sample_rate, n_quantizers=n)
    except Exception as e:  # noqa: BLE001 - find the item that fails, tokenizing each alone
        if len(read) == 1:
            _fail(read[0][0], e, errors, strict)
            return {}
        return {k: v for r in read for k, v in _encode(model, [r], n, errors, strict).items()}
    return {
        it.id: Coded([c.clone() for c in tokens[j]], tokens.lengths[j], source, rate)
        for j, (it, _, source, rate) in enumerate(read)
    }


def _seconds(it: Item, errors: list[dict], strict: bool) -> float | None:
    """The item's duration, or None (and listed in `errors`) when its header cannot be read."""
    try:
        return it.seconds()
    except Exception as e:  # noqa: BLE001 - any failure to read one header is that file's error
        _fail(it, e, errors, strict)
        return None


def _fail(it: Item, e: BaseException, errors: list[dict], strict: bool) -> None:
    """List `it` as skipped because of `e`, or with `strict` stop the run naming it."""
    text = str(e) if isinstance(e, (CodeckitError, OSError)) else f"{type(e).__name__}: {e}"
    text = " ".join(text.split()) or type(e).__name__
    if strict:
        raise ShardError(f"{it.where}: {text} (--strict: stopping; without it the utterance is skipped)")
    log.warning("skipping %s: %s", it.where, text)
    errors.append({"id": it.id, "path": it.path, "where": it.where, "error": text})


def check_layout(name: str, codec: dict) -> None:
    """Refuse an LM layout preset whose levels, rate ratios or codebooks do not fit the codec's codes."""
    from codeckit.tokens.presets import layout

    lay = layout(name)
    hops = codec["hop_lengths"][: codec["n_quantizers"]]
    ratios = tuple(hops[0] // h for h in hops)
    sizes = tuple(codec["codebook_sizes"][: len(hops)])
    if lay.ratios != ratios or any(s > m for s, m in zip(sizes, lay.codebook_sizes)):
        raise ShardError(
            f"--layout {name} carries {lay.n_levels} levels at rate ratios {lay.ratios} with codebooks "
            f"{lay.codebook_sizes}; this codec's codes have ratios {ratios} and codebooks {sizes}"
        )
