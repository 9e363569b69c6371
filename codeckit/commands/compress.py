"""`codeckit compress IN... --model MODEL --out DIR`: audio or token files to entropy-coded `.ckc` files.
`codeckit compress fit --model MODEL DATA...`: fit the context model they are coded with, into MODEL.

IN and DATA may be audio files, token files (`*.tokens.safetensors`), directories searched recursively for
them, or Kaldi `wav.scp` lists, as for `codeckit tokenize`; outputs are named by file stem or utterance id.
Fitting tokenizes audio DATA first (with --jobs workers) and counts, over all of it, each level's codes
after their contexts (--stages, most specific first); the tables go to
MODEL/context_model.safetensors (atomically) with a readable MODEL/context_model.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from functools import partial
from pathlib import Path

from codeckit.commands.tokenize import _STATE, AUDIO_SUFFIXES, add_model_args, collect_inputs, run_jobs, tokenize_one
from codeckit.errors import CodeckitError
from codeckit.tokens.tokenfile import TOKEN_SUFFIX

USAGE = """codeckit compress IN [IN ...] --model MODEL --out DIR [options]
       codeckit compress fit DATA [DATA ...] --model MODEL [--stages S] [--buckets N] [--discount D]"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compress",
        help="audio/token files -> .ckc files; `compress fit` fits the context model",
        description=__doc__,
        usage=USAGE,
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="audio file, token file, directory or wav.scp")
    p.add_argument("--n-quantizers", type=int, default=None, help="keep the first N levels (default: all)")
    p.add_argument("--seconds-per-chunk", type=float, default=2.0, help="audio per independently decodable chunk")
    g = p.add_argument_group("fit")
    g.add_argument(
        "--stages",
        default="coarse2+coarse+prev,coarse+prev,coarse,prev",
        help="context backoff chain, most specific first (default coarse2+coarse+prev,coarse+prev,coarse,prev)",
    )
    g.add_argument("--buckets", type=int, default=16384, help="most rows per context table (default 16384)")
    g.add_argument("--discount", type=float, default=0.8, help="absolute discount in (0, 1) (default 0.8)")
    add_model_args(p)
    for action in p._actions:  # fit writes into the model directory: --out only for compressing
        if action.dest == "out":
            action.required = False
    p.set_defaults(func=run)


def compress_one(src: Path, dst: Path, n_quantizers: int | None, seconds_per_chunk: float) -> None:
    """Worker task: compress audio or a token file `src` into `dst` with this process's model."""
    _STATE["model"].compress(src, dst, n_quantizers=n_quantizers, seconds_per_chunk=seconds_per_chunk)


def run(args: argparse.Namespace) -> int:
    from codeckit.api import resolve_model
    from codeckit.compress.storage import has_context_model

    if args.inputs[0] == "fit" and not Path("fit").exists():
        return run_fit(args, args.inputs[1:])
    if not args.out:
        raise CodeckitError("--out is required to compress")
    model_dir = resolve_model(args.model, args.cache_dir)
    if not has_context_model(model_dir):
        raise CodeckitError(
            f"no context model in {model_dir}; fit one with `codeckit compress fit --model {model_dir} DATA...`"
        )
    out = Path(args.out)
    jobs = [(src, out / f"{key}.ckc") for key, src in collect_inputs(args.inputs, (*AUDIO_SUFFIXES, TOKEN_SUFFIX))]
    work = partial(compress_one, n_quantizers=args.n_quantizers, seconds_per_chunk=args.seconds_per_chunk)
    return run_jobs(args, work, jobs, "compress")


def run_fit(args: argparse.Namespace, data: list[str]) -> int:
    from codeckit.api import load, resolve_model
    from codeckit.compress.contexts import parse_stages
    from codeckit.compress.files import spec_of, token_streams
    from codeckit.compress.fit import fit_context_model
    from codeckit.compress.model import ContextConfig
    from codeckit.compress.storage import save_context_model

    if not data:
        raise CodeckitError("compress fit needs DATA: token files, audio files, directories or wav.scp lists")
    if args.out:
        raise CodeckitError("compress fit writes into the model directory; --out is not used")
    config = ContextConfig(stages=parse_stages(args.stages), buckets=args.buckets, discount=args.discount)
    config.check()
    model_dir = resolve_model(args.model, args.cache_dir)
    items = collect_inputs(data, (*AUDIO_SUFFIXES, TOKEN_SUFFIX))
    tokens = [src for _, src in items if src.name.endswith(TOKEN_SUFFIX)]
    audio = [(key, src) for key, src in items if not src.name.endswith(TOKEN_SUFFIX)]
    with tempfile.TemporaryDirectory(prefix="codeckit-fit-") as tmp:
        if audio:
            jobs = [(src, Path(tmp) / f"{i}{TOKEN_SUFFIX}") for i, (_, src) in enumerate(audio)]
            run_jobs(args, partial(tokenize_one, n_quantizers=None), jobs, "tokenize")
            tokens += [dst for _, dst in jobs]
        spec = spec_of(load(model_dir))
        model = fit_context_model(token_streams(tokens, spec.codec_id), spec, config, total=len(tokens), progress=True)
    info = {"fit": {"items": len(tokens), "data": [str(d) for d in data]}}
    path = save_context_model(model, model_dir, info)
    summary = {"written": str(path), "identity": model.identity[:16], "entries": model.n_entries(), **info["fit"]}
    print(json.dumps(summary), file=sys.stdout)
    return 0
