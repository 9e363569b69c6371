"""The result store: one SQLite row per (codec, file, metric), so re-runs compute only what is new.

A row holds a value or the error that stopped it; failures are kept (and reported), and recomputed
only when asked. Only the main process writes. A cache written by an older codeckit whose results mean
something else (`SCHEMA` below) is emptied on opening, never mixed with new results.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One result: `value` on success, else `error` with the reason."""

    codec: str
    file: str
    metric: str
    value: float | None
    error: str | None = None


# 2: ViSQOL speech from the lattice model (was the polynomial map); metrics scored with each codec's delay
SCHEMA = 2
log = logging.getLogger(__name__)


class ResultCache:
    """SQLite-backed results keyed by (codec key, file key, metric)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        self.db = sqlite3.connect(self.path)
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA:
            exists = self.db.execute("SELECT name FROM sqlite_master WHERE name = 'results'").fetchone()
            if exists:
                log.warning("%s: results of an older codeckit (schema %d) are discarded", self.path, version)
                self.db.execute("DROP TABLE results")
            self.db.execute(f"PRAGMA user_version = {SCHEMA}")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS results (codec TEXT NOT NULL, file TEXT NOT NULL, metric TEXT NOT NULL,"
            " value REAL, error TEXT, PRIMARY KEY (codec, file, metric))"
        )
        self.db.commit()

    def get(self, codec: str, file: str) -> dict[str, Record]:
        """Every stored result of one (codec, file) pair, by metric."""
        rows = self.db.execute(
            "SELECT metric, value, error FROM results WHERE codec = ? AND file = ?", (codec, file)
        ).fetchall()
        return {m: Record(codec, file, m, v, e) for m, v, e in rows}

    def put(self, records: Iterable[Record]) -> None:
        """Store (or replace) records, committed at once."""
        self.db.executemany(
            "INSERT OR REPLACE INTO results (codec, file, metric, value, error) VALUES (?, ?, ?, ?, ?)",
            [(r.codec, r.file, r.metric, r.value, r.error) for r in records],
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
