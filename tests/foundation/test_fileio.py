"""Atomic writes: the target appears whole, with the permissions a plain write would give it."""

import os
import stat

import pytest

from codeckit.fileio import atomic_path, write_text_atomic


def test_written_file_has_the_umask_mode(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    target = tmp_path / "out" / "result.json"
    write_text_atomic(target, "{}\n")
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask  # as open() would make it; mkstemp gives 0o600
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]  # no temporary left


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "x.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []
