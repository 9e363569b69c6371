"""`codeckit shards verify DIR` / `codeckit shards unpack DIR --out TOKDIR`: check a shard folder written by
`codeckit tokenize --shards` against its index, or write one token file per utterance from it (what
`codeckit detokenize` and per-file tools read). `codeckit tokenize --shards` itself is run here too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codeckit.shards.errors import ShardError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shards", help="check or unpack corpus shards", description=__doc__)
    cmds = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    v = cmds.add_parser("verify", help="check every shard against the index")
    v.add_argument("folder", metavar="DIR", help="shard folder (the --out of codeckit tokenize --shards)")
    v.set_defaults(func=run_verify)
    u = cmds.add_parser("unpack", help="one token file per utterance from the shards")
    u.add_argument("folder", metavar="DIR", help="shard folder")
    u.add_argument("--out", required=True, help="output folder for <utt_id>.tokens.safetensors")
    u.set_defaults(func=run_unpack)


def add_shard_args(p: argparse.ArgumentParser) -> None:
    """`codeckit tokenize`'s corpus options."""
    g = p.add_argument_group("corpus shards (docs/corpus_tokenization.md)")
    g.add_argument("--shards", metavar="FORMATS", default=None,
                   help="write corpus shards instead of token files: shar, parquet or shar,parquet; IN may then "
                        "also be a Lhotse manifest or Shar folder")  # fmt: skip
    g.add_argument("--shard-size", type=int, default=1000, help="utterances per shard (default 1000)")
    g.add_argument("--layout", default=None, help="LM layout preset for a Parquet input_ids column (e.g. orpheus)")
    g.add_argument("--job", type=int, default=None, help="this job's number, 1..--num-jobs (run.pl JOB=1:N)")
    g.add_argument("--num-jobs", type=int, default=None, help="array jobs sharing the corpus")
    g.add_argument("--batch-seconds", type=float, default=120.0, help="audio read per batch (default 120 s)")
    g.add_argument("--max-batch", type=int, default=None,
                   help="utterances per forward pass (default: 1 on CPU, bit-exact with per-file tokenize; "
                        "32 on GPU)")  # fmt: skip
    g.add_argument("--strict", action="store_true", help="stop at the first unreadable file (default: skip it)")
    g.add_argument("--verify", action="store_true", help="check every shard in --out against the index, then exit")


def run_tokenize_shards(args: argparse.Namespace, collect, suffixes) -> int:
    """`codeckit tokenize --shards ...` (or `--verify`): this launcher's share of the corpus, then a summary."""
    from codeckit.shards.launch import run_sharded
    from codeckit.shards.plan import parse_formats
    from codeckit.shards.work import WorkerConfig

    if args.verify:
        return _verify(Path(args.out))
    if not args.shards:
        raise ShardError("--shard-size, --layout, --job, --num-jobs, --batch-seconds and --strict need --shards")
    formats = parse_formats(args.shards)
    if args.layout and "parquet" not in formats:
        raise ShardError("--layout fills Parquet's input_ids column: add parquet to --shards")
    if args.batch_seconds <= 0 or (args.max_batch is not None and args.max_batch < 1):
        raise ShardError(
            f"--batch-seconds must be > 0 and --max-batch >= 1, got {args.batch_seconds} and {args.max_batch}"
        )
    model = args.model
    if model.startswith("hf:"):  # download and convert once, here, not in every worker
        from codeckit.api import resolve_model

        model = str(resolve_model(model, args.cache_dir))
    cfg = WorkerConfig(
        inputs=list(args.inputs), out=args.out, model=model, formats=formats, collect=collect,
        suffixes=tuple(suffixes), cache_dir=args.cache_dir, device=args.device, threads=args.threads,
        chunk_seconds=args.chunk_seconds, context_seconds=args.context_seconds, n_quantizers=args.n_quantizers,
        layout=args.layout, shard_size=args.shard_size, batch_seconds=args.batch_seconds, max_batch=args.max_batch,
        strict=args.strict,
    )  # fmt: skip
    reports = run_sharded(cfg, args.jobs, args.job, args.num_jobs)
    shards = sorted(k for r in reports for k in r.shards)
    errors = [e for r in reports for e in r.errors]
    hours = sum(r.seconds for r in reports) / 3600
    span = f"shards {shards[0]}..{shards[-1]}" if shards else "no shards (more workers than shards)"
    print(
        f"codeckit tokenize: {span} in {args.out}: {sum(r.written for r in reports)} written "
        f"({sum(r.utterances for r in reports)} utterances, {hours:.3f} h), {sum(r.skipped for r in reports)} "
        f"finished before; {len(errors)} utterances skipped" + (f" (first: {errors[0]})" if errors else "")
    )
    if errors and not sum(r.utterances for r in reports):
        raise ShardError(f"every utterance failed; first: {errors[0]}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    return _verify(Path(args.folder))


def _verify(folder: Path) -> int:
    """Check every shard of `folder` against the index; one line per problem, exit 1 when there are any."""
    from codeckit.shards.index import verify
    from codeckit.shards.plan import read_plan

    n = read_plan(folder)["n_shards"]
    problems = verify(folder, n)
    if problems:
        sys.stderr.write("".join(f"codeckit: {p}\n" for p in problems))
        raise ShardError(f"{folder}: {len(problems)} problems in {n} shards (listed above)")
    print(f"codeckit: {folder}: all {n} shards match the index")
    return 0


def run_unpack(args: argparse.Namespace) -> int:
    """One token file per utterance, as `codeckit tokenize` writes them file by file."""
    from tqdm import tqdm

    from codeckit.tokens.shards import ShardSet
    from codeckit.tokens.tokenfile import TOKEN_SUFFIX, save_tokens

    shards = ShardSet(args.folder)
    out = Path(args.out)
    for item in tqdm(shards.items(), total=len(shards), desc="unpack", unit="utt"):
        save_tokens(out / f"{item.id}{TOKEN_SUFFIX}", item.codes, shards.header(item))
    return 0
