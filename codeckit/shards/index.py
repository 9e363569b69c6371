"""The index of finished shards: one record per shard (`index/shard.NNNNNN.json`) naming its files with their
size and sha256, its utterance count and hours, and the utterances it skipped with why.

A record is written (atomically) only after every file of its shard is in place under its final name, so a
shard with a record is complete; a rerun skips it, and `verify` re-checks every file against its record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codeckit.fileio import file_hash, write_text_atomic
from codeckit.shards.errors import ShardError


def shard_tag(k: int) -> str:
    """The six-digit shard number used in file names, as Lhotse Shar numbers its shards."""
    return f"{k:06d}"


def record_path(out: Path, k: int) -> Path:
    """Where shard `k`'s record lives."""
    return Path(out) / "index" / f"shard.{shard_tag(k)}.json"


def write_record(out: Path, k: int, files: list[Path], utterances: int, seconds: float, errors: list[dict]) -> None:
    """Record shard `k` as finished: `files` (already under their final names in `out`) with size and sha256."""
    out = Path(out)
    record = {
        "shard": k,
        "utterances": utterances,
        "seconds": round(seconds, 3),
        "files": {p.relative_to(out).as_posix(): {"bytes": p.stat().st_size, "sha256": file_hash(p)} for p in files},
        "errors": errors,
    }
    write_text_atomic(record_path(out, k), json.dumps(record, indent=1, sort_keys=True) + "\n")


def read_record(out: Path, k: int) -> dict[str, Any] | None:
    """Shard `k`'s record, or None when the shard is not finished."""
    path = record_path(out, k)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ShardError(f"{path}: damaged index record ({e}); remove it to redo the shard") from None


def is_done(out: Path, k: int) -> bool:
    """True when shard `k` has a record and every file it names is there with its recorded size (a cheap check;
    `verify` compares checksums)."""
    record = read_record(out, k)
    if record is None:
        return False
    for rel, meta in record["files"].items():
        p = Path(out) / rel
        if not p.is_file() or p.stat().st_size != meta["bytes"]:
            return False
    return True


def verify(out: Path, n_shards: int) -> list[str]:
    """Every problem found checking shards 0..n_shards-1 of `out` against the index (empty when all is well)."""
    problems = []
    for k in range(n_shards):
        record = read_record(out, k)
        if record is None:
            problems.append(f"shard {shard_tag(k)}: not finished (no index record)")
            continue
        for rel, meta in record["files"].items():
            p = Path(out) / rel
            if not p.is_file():
                problems.append(f"shard {shard_tag(k)}: {rel} is missing")
            elif p.stat().st_size != meta["bytes"] or file_hash(p) != meta["sha256"]:
                problems.append(f"shard {shard_tag(k)}: {rel} does not match its checksum in the index")
    return problems
