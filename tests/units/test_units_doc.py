"""Every code block of docs/units.md runs, in order, from an empty directory (as tests/api/test_api_quickstart.py
runs docs/quickstart.md)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "units.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

pytest.importorskip("sklearn")


def blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(DOC.read_text())]


def test_doc_has_python_and_bash_blocks_only():
    langs = [lang for lang, _ in blocks()]
    assert langs.count("python") >= 4 and langs.count("bash") >= 2
    assert set(langs) == {"python", "bash"}, "a block that is neither python nor bash would not run"


def test_units_doc_runs(tmp_path, monkeypatch, one_thread):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "codeckit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codeckit "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(DOC.parents[1]), env.get("PYTHONPATH", "")])
    namespace: dict = {"__name__": "__units_doc__"}
    for i, (lang, code) in enumerate(blocks()):
        if lang == "python":
            exec(compile(code, f"{DOC.name} block {i}", "exec"), namespace)
        else:
            out = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code], cwd=work, env=env, capture_output=True, text=True
            )
            if out.returncode:
                pytest.fail(f"{DOC.name} block {i} failed ({out.returncode}):\n{code}\n{out.stderr[-2000:]}")
    assert (work / "resynth.wav").is_file() and (work / "exp" / "vocoder" / "model" / "model.safetensors").is_file()
    assert namespace["text"].startswith("<sosp><") and namespace["text"].endswith("><eosp>")
