"""egs/utils/run.pl: JOB=1:N runs in parallel, one log per job, and any failed job fails the call."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

EGS = Path(__file__).resolve().parents[2] / "egs"
UTILS = EGS / "utils"


def run(cmd: list[str], cwd: Path, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run a command, capturing text output, never raising on a non-zero exit."""
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, **kw)


RUN_PL = str(UTILS / "run.pl")

# Each job announces itself, then waits until every job has: this only finishes if they run at once.
BARRIER = (
    "touch started.JOB && for i in $(seq 100); do [ $(ls started.* | wc -l) -ge 3 ] && exit 0; sleep 0.1; done; exit 7"
)


def test_jobs_run_in_parallel_with_their_own_logs(tmp_path: Path):
    res = run([RUN_PL, "JOB=1:3", "log/job.JOB.log", "bash", "-c", BARRIER], tmp_path)
    assert res.returncode == 0, res.stderr
    for n in (1, 2, 3):
        text = (tmp_path / f"log/job.{n}.log").read_text()
        assert text.startswith(f"# bash -c 'touch started.{n} &&")  # JOB replaced in the command
        assert "# Started at" in text
        assert text.rstrip().splitlines()[-1].startswith("# Ended (code 0)")


def test_a_failing_job_fails_the_call_and_names_its_log(tmp_path: Path):
    res = run([RUN_PL, "JOB=1:4", "exp/log/t.JOB.log", "echo", "job", "JOB", "&&", "test", "JOB", "-ne", "3"], tmp_path)
    assert res.returncode == 1
    assert "1 / 4 jobs failed, log is in exp/log/t.3.log" in res.stderr
    assert "# Ended (code 1)" in (tmp_path / "exp/log/t.3.log").read_text()
    for n in (1, 2, 4):
        log = (tmp_path / f"exp/log/t.{n}.log").read_text()
        assert f"job {n}\n" in log and "# Ended (code 0)" in log


def test_several_failures_are_all_listed(tmp_path: Path):
    res = run([RUN_PL, "JOB=1:3", "l.JOB.log", "test", "JOB", "-eq", "2"], tmp_path)
    assert res.returncode == 1
    assert "2 / 3 jobs failed, log is in l.1.log" in res.stderr
    assert "failed jobs: 1 3" in res.stderr


def test_single_job_and_exit_code_in_log(tmp_path: Path):
    res = run([RUN_PL, "single.log", "bash", "-c", "echo out; echo err >&2; exit 5"], tmp_path)
    assert res.returncode == 1
    assert "job failed, log is in single.log" in res.stderr
    log = (tmp_path / "single.log").read_text()
    assert "out\n" in log and "err\n" in log and "# Ended (code 5)" in log


def test_max_jobs_run_serialises(tmp_path: Path):
    cmd = "date +%s.%N > t.JOB.start; sleep 0.2; date +%s.%N > t.JOB.end"
    res = run([RUN_PL, "--max-jobs-run", "1", "JOB=1:3", "s.JOB.log", "bash", "-c", cmd], tmp_path)
    assert res.returncode == 0, res.stderr
    spans = sorted(
        (float((tmp_path / f"t.{n}.start").read_text()), float((tmp_path / f"t.{n}.end").read_text()))
        for n in (1, 2, 3)
    )
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert start >= end  # no two jobs overlapped


def test_arguments_with_spaces_and_quotes_survive(tmp_path: Path):
    res = run([RUN_PL, "q.log", "printf", "%s,", "a b", "it's", "$HOME"], tmp_path)
    assert res.returncode == 0, res.stderr
    body = (tmp_path / "q.log").read_text().splitlines()[3]
    assert body.startswith("a b,it's,/")  # a bare $HOME is expanded by the shell, as in Kaldi


def test_num_threads_is_exported(tmp_path: Path):
    res = run([RUN_PL, "--num-threads", "3", "n.log", "echo", "threads=$OMP_NUM_THREADS"], tmp_path)
    assert res.returncode == 0
    assert "threads=3" in (tmp_path / "n.log").read_text()


def test_usage_errors(tmp_path: Path):
    res = run([RUN_PL, "JOB=1:2", "same.log", "true"], tmp_path)
    assert res.returncode != 0 and "must contain JOB" in res.stderr
    res = run([RUN_PL, "--bogus", "1", "x.log", "true"], tmp_path)
    assert res.returncode != 0 and "unknown option --bogus" in res.stderr
    res = run([RUN_PL, "JOB=3:1", "x.JOB.log", "true"], tmp_path)
    assert res.returncode != 0 and "empty job range" in res.stderr


def test_log_records_elapsed_time(tmp_path: Path):
    run([RUN_PL, "e.log", "sleep", "0.3"], tmp_path)
    m = re.search(r"elapsed time ([\d.]+) seconds", (tmp_path / "e.log").read_text())
    assert m is not None and float(m.group(1)) >= 0.25
