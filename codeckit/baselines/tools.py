"""Running the classic codecs' command-line tools: find them (or say which Debian package has them), run them."""

from __future__ import annotations

import shutil
import subprocess

from codeckit.errors import CodeckitError


class BaselineError(CodeckitError, RuntimeError):
    """A classic-codec tool that is missing or failed (names the tool, and the package or its stderr)."""


def require_tool(tool: str, package: str) -> str:
    """The full path of `tool` on PATH, or a BaselineError naming the Debian package that provides it."""
    path = shutil.which(tool)
    if path is None:
        raise BaselineError(
            f"'{tool}' was not found on PATH; install the Debian package {package} (apt-get install {package})"
        )
    return path


def run_tool(args: list[str]) -> None:
    """Run a tool to completion; a non-zero exit becomes a BaselineError carrying its stderr."""
    proc = subprocess.run(args, capture_output=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        detail = err[-1] if err else "no message"
        raise BaselineError(f"{' '.join(args[:2])} failed with exit code {proc.returncode}: {detail}")
