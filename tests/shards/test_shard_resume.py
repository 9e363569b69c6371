"""Resume: a run killed with SIGKILL shows no partial shard under a final name, and a rerun finishes it
byte-identical to an uninterrupted run; --verify checks shards against the index; another run's folder is refused."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from shard_helpers import codeckit_cmd, run_env, tree, write_corpus

from codeckit.cli import main


@pytest.fixture(scope="module")
def setup(tmp_path_factory, snac_dir):
    root = tmp_path_factory.mktemp("resume")
    scp = write_corpus(root / "corpus", n=16, bad=False)
    args = ["tokenize", str(scp), "--model", str(snac_dir), "--threads", "1", "--shards", "shar,parquet",
            "--shard-size", "1", "--batch-seconds", "0.3"]  # fmt: skip
    assert main([*args, "--out", str(root / "ref")]) == 0
    return root, args


def _kill_midway(cmd: list[str], index: Path, ref: dict[str, bytes], timeout: float = 120) -> int:
    """Start `cmd`, SIGKILL it once a shard is recorded; every final-named file seen while it runs must be whole.
    Returns the number of shards recorded at the kill."""
    proc = subprocess.Popen(cmd, env=run_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = index.parent
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            for rel, data in tree(out).items():
                if rel in ref:  # under its final name: complete, never a prefix of the finished file
                    assert data == ref[rel], f"{rel} is visible before it is complete"
            if index.is_dir() and any(index.iterdir()):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    return len(list(index.glob("*.json")))


def test_killed_run_resumes_to_identical_shards(setup, capsys):
    root, args = setup
    ref = tree(root / "ref")
    out = root / "killed"
    done = _kill_midway(codeckit_cmd(*args, "--out", str(out)), out / "index", ref)
    assert 1 <= done < 16
    for rel, data in tree(out).items():  # whatever is there under a final name is complete
        assert rel not in ref or data == ref[rel], rel
    assert main([*args, "--out", str(out), "--verify"]) == 2
    assert "not finished" in capsys.readouterr().err
    assert main([*args, "--out", str(out)]) == 0
    assert f"{16 - done} written" in capsys.readouterr().out
    assert tree(out) == ref
    assert not (out / ".tmp").exists()
    assert main(["shards", "verify", str(out)]) == 0


def test_verify_names_a_damaged_file(setup, tmp_path, capsys):
    root, args = setup
    out = tmp_path / "copy"
    for rel, data in tree(root / "ref").items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    damaged = out / "parquet/shard.000003.parquet"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert main(["shards", "verify", str(out)]) == 2
    err = capsys.readouterr().err
    assert "shard 000003: parquet/shard.000003.parquet does not match its checksum" in err
    assert "1 problems in 16 shards" in err


def test_a_folder_of_another_run_is_refused(setup, capsys):
    root, args = setup
    i = args.index("--shard-size")
    other = [*args[:i], "--shard-size", "4", *args[i + 2 :]]
    assert main([*other, "--out", str(root / "ref")]) == 2
    err = capsys.readouterr().err
    assert "holds shards of another run (digest, n_shards differ)" in err


def test_finished_run_is_skipped(setup, capsys):
    root, args = setup
    before = tree(root / "ref")
    assert main([*args, "--out", str(root / "ref")]) == 0
    assert "0 written" in capsys.readouterr().out and tree(root / "ref") == before
