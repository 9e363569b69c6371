"""`codeckit detokenize IN... --model MODEL --out DIR`: token files back to audio files at the codec's rate.

IN may be token files (`*.tokens.safetensors`), directories searched recursively for them, or `.scp`
lists (`utt_id path`). A token file made by another codec, or holding out-of-range codes, is refused.
Long files are decoded chunk by chunk and written as they go.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from codeckit.commands.tokenize import _STATE, add_model_args, collect_inputs, run_jobs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detokenize", help="token files -> audio files", description=__doc__)
    p.add_argument("inputs", nargs="+", metavar="IN", help="token file, directory or .scp list")
    p.add_argument("--format", default="wav", choices=["wav", "flac"], help="output audio format (default wav)")
    add_model_args(p)
    p.set_defaults(func=run)


def detokenize_one(src: Path, dst: Path) -> None:
    """Worker task: decode the token file `src` to the audio file `dst` with this process's model."""
    _STATE["model"].detokenize_to_file(src, dst)


def run(args: argparse.Namespace) -> int:
    from codeckit.tokens.tokenfile import TOKEN_SUFFIX

    out = Path(args.out)
    jobs = [(src, out / f"{key}.{args.format}") for key, src in collect_inputs(args.inputs, [TOKEN_SUFFIX])]
    return run_jobs(args, detokenize_one, jobs, "detokenize")
