"""Sparse count tables: one row per context, the codes seen after it and how often (CSR arrays).

Only seen (row, code) pairs are stored, so a table's size is bounded by both rows x codebook and the
number of training frames; `CountAccumulator` merges counts as they come so fitting memory stays bounded too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MERGE_AT = 1 << 22  # pending keys before they are merged into the counts


@dataclass
class CountTable:
    """Counts of codes per context row: row r's codes are `symbols[indptr[r]:indptr[r+1]]`."""

    indptr: np.ndarray  # int64 (rows + 1,)
    symbols: np.ndarray  # int32 (nnz,), ascending within a row
    counts: np.ndarray  # int32 (nnz,)

    def __post_init__(self) -> None:
        rows = np.repeat(np.arange(self.indptr.shape[0] - 1), np.diff(self.indptr))
        self.totals = np.bincount(rows, weights=self.counts, minlength=self.n_rows).astype(np.int64)
        self.distinct = np.diff(self.indptr)

    @property
    def n_rows(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        return int(self.symbols.shape[0])

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, counts) seen in context row `r`."""
        a, b = self.indptr[r], self.indptr[r + 1]
        return self.symbols[a:b], self.counts[a:b]

    def check(self, vocab: int, where: str) -> str | None:
        """What is wrong with the arrays, or None."""
        ip = self.indptr
        if ip.ndim != 1 or ip.shape[0] < 2 or ip[0] != 0 or np.any(np.diff(ip) < 0) or ip[-1] != self.nnz:
            return f"{where}: bad row pointers"
        if self.counts.shape != self.symbols.shape or (self.nnz and self.counts.min() < 1):
            return f"{where}: counts do not match codes"
        if self.nnz and (self.symbols.min() < 0 or self.symbols.max() >= vocab):
            return f"{where}: codes outside 0..{vocab - 1}"
        return None


class CountAccumulator:
    """Collects (row, code) observations for one table and turns them into a `CountTable`."""

    def __init__(self, n_rows: int, vocab: int):
        self.n_rows, self.vocab = n_rows, vocab
        self._keys = np.zeros(0, np.int64)
        self._counts = np.zeros(0, np.int64)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0

    def add(self, rows: np.ndarray, symbols: np.ndarray) -> None:
        """Count one code after each context row (equal-length int arrays)."""
        self._pending.append(rows.astype(np.int64) * self.vocab + symbols.astype(np.int64))
        self._n_pending += rows.shape[0]
        if self._n_pending >= _MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        if not self._pending:
            return
        keys = np.concatenate([self._keys, *self._pending])
        weights = np.concatenate([self._counts, np.ones(self._n_pending, np.int64)])
        self._keys, inverse = np.unique(keys, return_inverse=True)
        self._counts = np.bincount(inverse.reshape(-1), weights=weights, minlength=self._keys.shape[0]).astype(np.int64)
        self._pending, self._n_pending = [], 0

    def table(self) -> CountTable:
        """The counts so far as a CSR table."""
        self._merge()
        rows, symbols = np.divmod(self._keys, self.vocab)
        indptr = np.zeros(self.n_rows + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=self.n_rows), out=indptr[1:])
        counts = np.minimum(self._counts, np.iinfo(np.int32).max).astype(np.int32)
        return CountTable(indptr, symbols.astype(np.int32), counts)
