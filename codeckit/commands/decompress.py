"""`codeckit decompress IN... --model MODEL --out DIR`: `.ckc` files back to audio at the codec's rate, or
with `--tokens` to token files. IN may be `.ckc` files, directories searched recursively for them, or `.scp`
lists. A file written with another codec or context model is refused; a corrupt or truncated chunk fails
that file, naming the chunk, and nothing is written for it.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from codeckit.commands.tokenize import _STATE, add_model_args, collect_inputs, run_jobs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("decompress", help=".ckc files -> audio (or token) files", description=__doc__)
    p.add_argument("inputs", nargs="+", metavar="IN", help=".ckc file, directory or .scp list")
    p.add_argument("--tokens", action="store_true", help="write token files instead of audio")
    p.add_argument("--format", default="wav", choices=["wav", "flac"], help="output audio format (default wav)")
    add_model_args(p)
    p.set_defaults(func=run)


def decompress_one(src: Path, dst: Path, tokens: bool) -> None:
    """Worker task: decode the compressed file `src` to `dst` (audio, or a token file) with this process's model."""
    _STATE["model"].decompress_to_file(src, dst, tokens=tokens)


def run(args: argparse.Namespace) -> int:
    from codeckit.compress.layout import SUFFIX
    from codeckit.tokens.tokenfile import TOKEN_SUFFIX

    out = Path(args.out)
    suffix = TOKEN_SUFFIX if args.tokens else f".{args.format}"
    jobs = [(src, out / f"{key}{suffix}") for key, src in collect_inputs(args.inputs, [SUFFIX])]
    return run_jobs(args, partial(decompress_one, tokens=args.tokens), jobs, "decompress")
