"""Running a docs page's fenced code blocks in order from an empty directory, as a reader would (the docs tests)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(doc: Path) -> list[tuple[str, str]]:
    """(language, code) of each fenced block of `doc`."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(doc.read_text())]


def run_blocks(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[Path, dict]:
    """Run `doc`'s python blocks in one namespace and its bash blocks with `codeckit` on PATH being this checkout's;
    returns (the working directory, the python namespace). `env` adds environment variables for the bash blocks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "codeckit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codeckit "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    full_env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env}
    full_env["PYTHONPATH"] = os.pathsep.join([str(doc.parents[1]), full_env.get("PYTHONPATH", "")])
    namespace: dict = {"__name__": f"__{doc.stem}__"}
    for i, (lang, code) in enumerate(blocks(doc)):
        if lang == "python":
            exec(compile(code, f"{doc.name} block {i}", "exec"), namespace)
            continue
        out = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code], cwd=work, env=full_env, capture_output=True, text=True
        )
        if out.returncode:
            pytest.fail(f"{doc.name} block {i} failed ({out.returncode}):\n{code}\n{out.stderr[-2000:]}")
    return work, namespace
