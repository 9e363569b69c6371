"""Every code block of docs/quickstart.md runs, in order, from an empty directory."""

from pathlib import Path

from doc_blocks import blocks, run_blocks

DOC = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"


def test_doc_has_python_and_bash_blocks_only():
    langs = [lang for lang, _ in blocks(DOC)]
    assert langs.count("python") >= 5 and langs.count("bash") >= 2
    assert set(langs) == {"python", "bash"}, "a block that is neither python nor bash would not run"


def test_quickstart_runs(tmp_path, monkeypatch):
    # `codeckit` on PATH is this interpreter's module, so the blocks test this checkout.
    work, _ = run_blocks(DOC, tmp_path, monkeypatch)
    assert (work / "decoded" / "utt1.wav").is_file() and (work / "tokens" / "a.tokens.safetensors").is_file()
