"""egs/utils/parse_options.sh: declared variables become options; everything else is refused."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EGS = Path(__file__).resolve().parents[2] / "egs"
UTILS = EGS / "utils"


def run(cmd: list[str], cwd: Path, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run a command, capturing text output, never raising on a non-zero exit."""
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, **kw)


SCRIPT = """stage=0
stop_stage=5
use_gpu=false
conf=conf/fast.yaml
tag=
help_message="Usage: r.sh [--stage N] [--conf FILE]"
. utils/parse_options.sh
set -euo pipefail
echo "stage=$stage stop_stage=$stop_stage use_gpu=$use_gpu conf=$conf tag=$tag rest=$*"
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """A scratch recipe folder with `utils` linked to egs/utils and the script above as r.sh."""
    (tmp_path / "utils").symlink_to(UTILS)
    (tmp_path / "r.sh").write_text(SCRIPT)
    return tmp_path


def test_options_set_declared_variables(script: Path):
    res = run(["bash", "r.sh", "--stage", "3", "--stop-stage=4", "--use-gpu", "true", "--tag", "a b", "x", "y"], script)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "stage=3 stop_stage=4 use_gpu=true conf=conf/fast.yaml tag=a b rest=x y"


def test_defaults_without_options(script: Path):
    res = run(["bash", "r.sh"], script)
    assert res.stdout.strip() == "stage=0 stop_stage=5 use_gpu=false conf=conf/fast.yaml tag= rest="


def test_double_dash_ends_options(script: Path):
    res = run(["bash", "r.sh", "--stage", "1", "--", "--stage", "2"], script)
    assert res.stdout.strip().endswith("rest=--stage 2")
    assert "stage=1 " in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--foo", "1"], "unknown option '--foo'"),
        (["--stage"], "option --stage needs a value"),
        (["--use-gpu", "yes"], "option --use-gpu takes true or false, got 'yes'"),
        (["--config", "missing.conf"], "config file 'missing.conf' not found"),
    ],
)
def test_bad_options_fail_with_a_clear_message(script: Path, args: list[str], message: str):
    res = run(["bash", "r.sh", *args], script)
    assert res.returncode == 1
    assert message in res.stderr
    assert "stage=" not in res.stdout  # the recipe body never ran


def test_help_prints_the_recipe_help(script: Path):
    res = run(["bash", "r.sh", "--help"], script)
    assert res.returncode == 0
    assert res.stdout.strip() == "Usage: r.sh [--stage N] [--conf FILE]"


def test_config_file_sets_defaults_before_later_options(script: Path):
    (script / "my.conf").write_text("stage=7\nconf=conf/cpu.yaml\n")
    res = run(["bash", "r.sh", "--config", "my.conf", "--stage", "2"], script)
    assert "stage=2 " in res.stdout and "conf=conf/cpu.yaml" in res.stdout


def test_run_with_sh_says_so_and_stops(script: Path):
    sh = shutil.which("sh")
    assert sh is not None
    res = run([sh, "r.sh", "--stage", "2"], script)
    assert res.returncode == 1
    assert "run it as 'bash r.sh" in res.stderr
    assert "stage=" not in res.stdout


def test_bash_in_posix_mode_is_refused_too(script: Path):
    res = run(["bash", "--posix", "r.sh"], script)
    assert res.returncode == 1
    assert "POSIX mode" in res.stderr
