"""egs/utils/slurm.pl: one script per job, an sbatch job array, and failures read from the job logs.

No Slurm here: a stand-in `sbatch` (below) runs the array's tasks one after another on this
machine with SLURM_ARRAY_TASK_ID set, which is what slurm.pl relies on from the real one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

EGS = Path(__file__).resolve().parents[2] / "egs"
SLURM_PL = str(EGS / "utils" / "slurm.pl")

FAKE_SBATCH = """#!/usr/bin/env bash
printf '%s\\n' "$@" > sbatch.args
array=; script=
for a in "$@"; do case $a in --array=*) array=${a#--array=};; --*) ;; *) script=$a;; esac; done
range=${array%%%*}; rc=0
for i in $(seq ${range%-*} ${range#*-}); do SLURM_ARRAY_TASK_ID=$i bash "$script" || rc=1; done
exit $rc
"""


def run(cmd: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False, env=env)


@pytest.fixture
def env(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH)
    (bin_dir / "sbatch").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_job_array_logs_and_options(tmp_path: Path, env: dict):
    res = run(
        [SLURM_PL, "--num-threads", "4", "--mem", "2G", "--gpu", "1", "--max-jobs-run", "2", "JOB=1:3",
         "exp/log/x.JOB.log", "echo", "job", "JOB", "threads=$OMP_NUM_THREADS"],
        tmp_path, env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    for n in (1, 2, 3):
        log = (tmp_path / f"exp/log/x.{n}.log").read_text()
        assert f"job {n} threads=4\n" in log
        assert log.rstrip().splitlines()[-1].startswith("# Ended (code 0)")
    args = (tmp_path / "sbatch.args").read_text().splitlines()
    for want in ("--wait", "--array=1-3%2", "--cpus-per-task=4", "--mem=2G", "--gres=gpu:1"):
        assert want in args


def test_a_failing_task_fails_the_call_and_names_its_log(tmp_path: Path, env: dict):
    res = run([SLURM_PL, "JOB=1:3", "log/t.JOB.log", "test", "JOB", "-ne", "2"], tmp_path, env)
    assert res.returncode == 1
    assert "1 / 3 jobs failed, log is in log/t.2.log" in res.stderr
    assert "# Ended (code 1)" in (tmp_path / "log/t.2.log").read_text()


def test_a_job_without_an_end_line_counts_as_failed(tmp_path: Path, env: dict):
    # the job kills its own shell, as Slurm does when a job runs out of time or memory
    res = run([SLURM_PL, "k.log", "kill", "-9", "$$"], tmp_path, env)
    assert res.returncode == 1
    assert "1 / 1 jobs failed, log is in k.log" in res.stderr


def test_no_sbatch_is_a_clear_error(tmp_path: Path):
    bin_dir = tmp_path / "bin"  # perl alone on the PATH: no sbatch even where Slurm is installed
    bin_dir.mkdir()
    (bin_dir / "perl").symlink_to(shutil.which("perl"))
    env = {**os.environ, "PATH": str(bin_dir)}
    res = run([SLURM_PL, "n.log", "true"], tmp_path, env)
    assert res.returncode == 1
    assert "cannot run sbatch" in res.stderr
