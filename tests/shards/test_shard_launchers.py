"""One process, `torchrun --nproc-per-node 2`, run.pl `JOB=1:2` and slurm.pl `JOB=1:2` on a real single-node Slurm
cluster all write the same shards (each worker its own contiguous range)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from shard_helpers import ROOT, codeckit_cmd, run, run_env, tree, write_corpus

from codeckit.cli import main

RUN_PL = str(ROOT / "egs/utils/run.pl")
SLURM_PL = str(ROOT / "egs/utils/slurm.pl")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, seanet_dir):
    """A 7-utterance corpus in 4 shards of 2 (one worker gets 2 shards, one 2), and the one-process result."""
    root = tmp_path_factory.mktemp("launch")
    scp = write_corpus(root / "corpus", n=7, bad=False)
    args = ["tokenize", str(scp), "--model", str(seanet_dir), "--threads", "1", "--shards", "shar,parquet",
            "--shard-size", "2"]  # fmt: skip
    assert main([*args, "--out", str(root / "one")]) == 0
    return root, args, tree(root / "one")


def test_one_process_writes_one_codes_field(setup):
    root, _, ref = setup
    assert sorted(ref) == sorted(
        [*(f"index/shard.00000{k}.json" for k in range(4)), "plan.json"]
        + [f"parquet/shard.00000{k}.parquet" for k in range(4)]
        + [f"shar/{f}.00000{k}.{e}" for k in range(4) for f, e in
           (("codes", "tar"), ("codes_meta", "jsonl.gz"), ("cuts", "jsonl.gz"))]
    )  # fmt: skip


def test_torchrun_two_ranks(setup):
    root, args, ref = setup
    out = root / "torchrun"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "codeckit", *args, "--out", str(out)]  # fmt: skip
    res = run(cmd)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "tokenize, worker 1/2" in res.stderr and "tokenize, worker 2/2" in res.stderr  # each rank's bar
    assert "shards 0..1" in res.stdout and "shards 2..3" in res.stdout
    assert tree(out) == ref


def test_run_pl_array_jobs(setup):
    root, args, ref = setup
    out = root / "runpl"
    cmd = [RUN_PL, "JOB=1:2", str(root / "log/tok.JOB.log"), *codeckit_cmd(*args), "--out", str(out),
           "--job", "JOB", "--num-jobs", "2"]  # fmt: skip
    res = run(cmd)
    assert res.returncode == 0, res.stderr + (root / "log/tok.1.log").read_text()
    assert "shards 0..1" in (root / "log/tok.1.log").read_text()
    assert "shards 2..3" in (root / "log/tok.2.log").read_text()
    assert tree(out) == ref


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A single-node Slurm cluster (slurmctld + slurmd, auth/none) in a temporary folder; its SLURM_CONF."""
    if not (shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("sbatch")):
        pytest.skip("Slurm is not installed (Debian: apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        pytest.skip("a private Slurm cluster needs root here (slurmd runs jobs as their user)")
    d = tmp_path_factory.mktemp("slurm")
    host = socket.gethostname()
    conf = d / "slurm.conf"
    conf.write_text(SLURM_CONF.format(dir=d, host=host, ctld=_free_port(), slurmd=_free_port(), cpus=os.cpu_count()))
    env = run_env(SLURM_CONF=str(conf))
    daemons = [
        subprocess.Popen(["slurmctld", "-D", "-i"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["slurmd", "-D"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            res = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
            if res.stdout.strip() == "idle":
                break
            time.sleep(0.5)
        else:
            pytest.skip(f"the private Slurm cluster did not come up: {(d / 'slurmctld.log').read_text()[-500:]}")
        yield str(conf)
    finally:
        for p in daemons:
            p.terminate()
        for p in daemons:
            p.wait(timeout=30)


SLURM_CONF = """ClusterName=codeckit
SlurmctldHost={host}
SlurmctldPort={ctld}
SlurmdPort={slurmd}
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName={host} CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def test_slurm_pl_array_jobs_on_a_real_cluster(setup, slurm_cluster):
    root, args, ref = setup
    out = root / "slurm"
    cmd = [SLURM_PL, "JOB=1:2", str(root / "slog/tok.JOB.log"), *codeckit_cmd(*args), "--out", str(out),
           "--job", "JOB", "--num-jobs", "2"]  # fmt: skip
    res = run(cmd, cwd=root, SLURM_CONF=slurm_cluster)
    logs = "".join(p.read_text() for p in sorted((root / "slog").glob("*.log")))
    assert res.returncode == 0, res.stderr + logs
    assert "Submitted batch job" in res.stdout
    assert "shards 0..1" in (root / "slog/tok.1.log").read_text()
    assert "shards 2..3" in (root / "slog/tok.2.log").read_text()
    assert tree(out) == ref
