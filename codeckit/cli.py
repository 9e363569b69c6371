"""The `codeckit` command: subcommands are the modules of `codeckit.commands`, found automatically."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import codeckit
from codeckit import commands
from codeckit.errors import CodeckitError


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand's parser attached."""
    parser = argparse.ArgumentParser(
        prog="codeckit",
        description="Neural audio codec toolkit: train, tokenize, export, stream and score codecs.",
    )
    parser.add_argument("--version", action="version", version=f"codeckit {codeckit.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"codeckit.commands.{info.name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, run the subcommand, turn a CodeckitError into one line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CodeckitError as e:
        print(f"codeckit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
