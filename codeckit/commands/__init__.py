"""CLI subcommands: each module here defines `add_parser(subparsers)` and is found automatically."""

from __future__ import annotations

import argparse
from typing import Any


def add_command(
    sub: argparse._SubParsersAction, name: str, help: str, doc: str | None, *, raw_help: bool = False, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand's parser described by its module docstring `doc`, shown with its line breaks kept.

    `raw_help` keeps the line breaks of the options' help too (argparse's RawTextHelpFormatter).
    """
    formatter = argparse.RawTextHelpFormatter if raw_help else argparse.RawDescriptionHelpFormatter
    return sub.add_parser(name, help=help, description=doc, formatter_class=formatter, **kwargs)
