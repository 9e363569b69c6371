"""Which shards each worker takes, and where rank and world size come from (the function training uses too)."""

from __future__ import annotations

import os

import pytest

from codeckit.errors import ConfigError
from codeckit.shards.errors import ShardError
from codeckit.shards.launch import resolve_rank, worker_context
from codeckit.shards.plan import parse_formats, rank_shards
from codeckit.train.distributed import env_rank


@pytest.mark.parametrize("n, world", [(10, 3), (3, 5), (1, 1), (1000, 7)])
def test_ranks_take_contiguous_ranges_covering_every_shard_once(n, world):
    ranges = [rank_shards(n, r, world) for r in range(world)]
    assert [k for r in ranges for k in r] == list(range(n))
    assert max(len(r) for r in ranges) - min(len(r) for r in ranges) <= 1


def test_rank_outside_the_world_is_refused():
    with pytest.raises(ShardError, match="worker 3 of 3"):
        rank_shards(10, 3, 3)


def test_env_rank_reads_torchrun_variables(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(key, raising=False)
    assert env_rank() == (0, 1, 0) and resolve_rank(None, None) == (0, 1, 0, 1)
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert env_rank() == (3, 4, 1) and resolve_rank(None, None) == (3, 4, 1, 2)
    assert resolve_rank(2, 5) == (1, 5, 0, 5)  # --job / --num-jobs win over the environment
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="RANK=4 and WORLD_SIZE=4 do not fit"):
        env_rank()
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ConfigError, match="RANK='one' is not an integer"):
        env_rank()


def test_formats():
    assert parse_formats("parquet,SHAR") == ["shar", "parquet"]
    with pytest.raises(ShardError, match="got 'tar'"):
        parse_formats("tar")


def test_progress_bar_shows_hours_speed_and_eta(capsys):
    from codeckit.shards.progress import LazyBar

    bar = LazyBar("tokenize")
    bar.emit("total", 3600.0)
    assert capsys.readouterr().err == ""  # nothing shown before audio is done
    bar.emit("total", 3600.0)
    bar.emit("done", 1800.0)
    bar.emit("done", 1800.0)
    bar.close()
    last = capsys.readouterr().err.split("\r")[-1]
    assert "1.00/2.00 h audio" in last and " 50%" in last and "h/h]" in last
    assert "<" in last  # elapsed<remaining: the ETA


@pytest.mark.skipif(os.name != "posix", reason="fork is a POSIX start method")
def test_cpu_workers_fork_and_gpu_workers_spawn():
    assert worker_context("cpu").get_start_method() == "fork"  # start with torch imported
    assert worker_context("cuda").get_start_method() == "spawn"  # CUDA cannot start in a forked child
    assert worker_context("cuda:1").get_start_method() == "spawn"
    assert worker_context("auto").get_start_method() == "spawn"  # may pick CUDA
