"""Every code block of docs/units.md runs, in order, from an empty directory (as tests/api/test_api_quickstart.py
runs docs/quickstart.md)."""

from pathlib import Path

import pytest
from doc_blocks import blocks, run_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "units.md"

pytest.importorskip("sklearn")


def test_doc_has_python_and_bash_blocks_only():
    langs = [lang for lang, _ in blocks(DOC)]
    assert langs.count("python") >= 4 and langs.count("bash") >= 2
    assert set(langs) == {"python", "bash"}, "a block that is neither python nor bash would not run"


def test_units_doc_runs(tmp_path, monkeypatch, one_thread):
    work, namespace = run_blocks(DOC, tmp_path, monkeypatch, OMP_NUM_THREADS="1")
    assert (work / "resynth.wav").is_file() and (work / "exp" / "vocoder" / "model" / "model.safetensors").is_file()
    assert namespace["text"].startswith("<sosp><") and namespace["text"].endswith("><eosp>")
