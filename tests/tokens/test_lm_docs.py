"""Every python block of docs/lm_layouts.md runs (each on its own) and prints what its comments say."""

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "lm_layouts.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
BLOCKS = [m.group(2) for m in FENCE.finditer(DOC.read_text()) if m.group(1) == "python"]


def test_one_example_per_lm():
    text = "\n".join(BLOCKS)
    assert len(BLOCKS) >= 6 and all(f'layout("{n}")' in text for n in ("orpheus", "mini-omni", "moshi", "llasa"))


@pytest.mark.parametrize("block", range(len(BLOCKS)))
def test_block_runs(block, one_thread):
    code = BLOCKS[block]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{DOC.name} block {block}", "exec"), {"__name__": "__doc_example__"})
    for expected in re.findall(r"print\(.*\)  # (.*)", code):
        assert expected in out.getvalue()
