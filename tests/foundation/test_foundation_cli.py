"""`codeckit --help` and each subcommand's `--help` work; errors become one line."""

import subprocess
import sys

import pytest

from codeckit.cli import build_parser, main


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_top_level_help():
    out = subprocess.run([sys.executable, "-m", "codeckit", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: codeckit" in out.stdout
    for name in _subcommands():
        assert name in out.stdout


@pytest.mark.parametrize("name", _subcommands())
def test_subcommand_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert f"usage: codeckit {name}" in capsys.readouterr().out


def test_info_error_is_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"codeckit info: error: model directory not found: {tmp_path / 'missing'}"]
