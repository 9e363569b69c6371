"""The leaderboard page escapes every user string (codec names, file ids, notes, paths), and no user string
ever reaches a shell: the classic codecs' tools run from argument lists on temporary files."""

from __future__ import annotations

import ast
import html.parser
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from robustness_helpers import REPO, cli

from codeckit.bench.report import _html, quality_plot_svg
from codeckit.bench.summary import CodecSummary, MetricSummary

EVIL = [
    '<script>alert("x")</script>',
    "\"><img src=x onerror=alert('x')>",
    "' onmouseover='alert(1)",
    "</td></tr></table><script>document.write(1)</script>",
    "<!-- -->--!><svg onload=alert(1)>",
]


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def _summary(name: str, kind: str = "model", bps: float = 2000.0) -> CodecSummary:
    m = MetricSummary(mean=0.5, n_ok=1, n_failed=1, errors=[f"failed on {name}"])
    return CodecSummary(
        name=name, kind=kind, key=f"model:{name}", files=2, failed_files=1, nominal_bps=bps, effective_bps=bps,
        effective_source="token entropy", disk_bps=None, delay_ms=0.0, delay_source="declared",
        delay_estimate_ms=None, delay_method="", encode_rtf=0.01, decode_rtf=0.01,
        metrics={"si_sdr": m, "mel_distance": m}, run_errors=[f"codec failed on {name}"],
    )  # fmt: skip


@pytest.mark.parametrize("evil", EVIL)
def test_page_escapes_every_user_string(evil):
    summaries = [_summary(evil), _summary("ok", bps=6000.0)]
    metrics = ["si_sdr", "mel_distance"]
    svg = quality_plot_svg(summaries, metrics)
    examples = [(evil, f"audio/original/{evil}.wav", [(evil, f"work/{evil}/x.wav"), ("ok", None)])]
    page = _html(summaries, metrics, [f"plots/{evil}.png"], examples, [f"note about {evil}"], svg)
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags
    # the only <img> is the plot, with the escaped path as its whole src
    assert parser.tags.count("img") == 1
    assert [v for k, v in parser.attrs if k == "src" and v and v.startswith("plots/")] == [f"plots/{evil}.png"]
    assert not [k for k, _ in parser.attrs if k.startswith("on")], parser.attrs
    assert "svg" not in parser.tags or not any(k == "onload" for k, _ in parser.attrs)
    assert sum(evil in t for t in parser.text) >= 3  # shown as text: table cell, example id, note
    assert "<script" not in page.lower()


def test_no_shell_anywhere_in_the_package():
    """No `shell=True`, os.system, os.popen or a command string to subprocess in codeckit/."""
    bad = []
    for path in sorted((REPO / "codeckit").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = ast.unparse(node.func)
            if func in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}: {func}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    bad.append(f"{path.relative_to(REPO)}:{node.lineno}: shell={ast.unparse(kw.value)}")
            if func.startswith("subprocess.") and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}: a command string")
    assert not bad, bad


def test_classic_codecs_get_argument_lists_and_temporary_files(capsys, tmp_path, monkeypatch):
    """A leaderboard over a file named with shell metacharacters: opusenc and c2enc get lists of arguments,
    none of them the user's file name, and nothing the name says is run."""
    calls = []
    real = subprocess.run

    def spy(args, *a, **kw):
        calls.append((args, kw))
        return real(args, *a, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data $(touch PWNED)"
    data.mkdir()
    name = "x;touch PWNED;`touch PWNED`$(touch PWNED)'\".wav"
    t = np.arange(8000) / 16000
    sf.write(data / name, (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000)
    out = tmp_path / "out <script>"
    torch.set_num_threads(1)
    o = cli(capsys, "bench", "--codecs", "opus:6000", "codec2:3200", "--data", data, "--out", out,
            "--metrics", "si_sdr", "--no-progress")  # fmt: skip
    assert o.rc == 0, o.err
    tools = [c for c in calls if Path(str(c[0][0])).name in ("opusenc", "opusdec", "c2enc", "c2dec")]
    assert {Path(c[0][0]).name for c in tools} == {"opusenc", "opusdec", "c2enc", "c2dec"}
    for args, kw in tools:
        assert isinstance(args, list) and not kw.get("shell"), (args, kw)
        assert not any("PWNED" in str(a) or "script" in str(a) for a in args), args
    assert not list(tmp_path.rglob("PWNED"))
    page = (out / "index.html").read_text()
    assert "<script" not in page.lower()
