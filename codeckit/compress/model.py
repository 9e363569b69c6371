"""The context model: per level, a unigram and a backoff chain of sparse count tables, turned into the
probabilities the range coder uses for each code.

A level's probabilities start from its smoothed unigram, (count + prior) / (total + prior * size), so every
code stays codable; each stage (least specific first) then mixes in its row's counts by absolute discounting:
p(x) = max(n(x) - D, 0) / N + D * T / N * p_backoff(x), where N and T are the row's total and distinct codes
(a row never seen leaves p_backoff as it is). Encoder and decoder build the same float arrays by the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import constriction
import numpy as np

from codeckit.compress.contexts import LevelStage, check_stages, level_stages
from codeckit.compress.errors import CompressError
from codeckit.compress.tables import CountTable

DEFAULT_STAGES = [["coarse2", "coarse", "prev"], ["coarse", "prev"], ["coarse"], ["prev"]]
_CACHE_LIMIT = 4096  # cached backoff distributions, and coder models, before a cache is emptied (~32 MB each)


@dataclass
class ContextConfig:
    """How a context model conditions and smooths (stored with it)."""

    stages: list[list[str]] = field(default_factory=lambda: [list(s) for s in DEFAULT_STAGES])  # most specific first
    buckets: int = 16384  # most rows one stage's table may have at one level (larger contexts are hashed)
    discount: float = 0.8  # absolute discount D, in (0, 1)
    prior: float = 0.5  # pseudo-count of every code in the unigram

    def check(self) -> None:
        """Raise CompressError naming a bad value."""
        check_stages(self.stages)
        if self.buckets < 1:
            raise CompressError(f"buckets must be >= 1, got {self.buckets}")
        if not 0.0 < self.discount < 1.0:
            raise CompressError(f"discount must be in (0, 1), got {self.discount}")
        if self.prior <= 0:
            raise CompressError(f"prior must be > 0, got {self.prior}")


@dataclass
class CodecSpec:
    """The codec a context model was fit for: its identity and the layout of its codes."""

    codec_id: str
    sample_rate: int
    channels: int
    hop_lengths: list[int]
    codebook_sizes: list[int]

    @property
    def levels(self) -> int:
        return len(self.codebook_sizes)


class ContextModel:
    """Probabilities of each level's codes given the codes before them; see the module docstring."""

    def __init__(
        self,
        config: ContextConfig,
        spec: CodecSpec,
        unigrams: Sequence[np.ndarray],
        tables: Sequence[Sequence[CountTable]],
    ):
        self.config, self.spec = config, spec
        self.unigrams = [np.asarray(u, np.int64) for u in unigrams]
        self.tables = [list(t) for t in tables]
        self.stages = [
            level_stages(config.stages, lv, spec.codebook_sizes, config.buckets) for lv in range(spec.levels)
        ]
        self._check()
        self._base = [self._unigram(lv) for lv in range(spec.levels)]
        self._dist: dict = {}
        self._models: dict = {}
        self._identity: str | None = None

    def _check(self) -> None:
        sizes = self.spec.codebook_sizes
        if len(self.unigrams) != len(sizes) or len(self.tables) != len(sizes):
            raise CompressError(f"context model has tables for other than {len(sizes)} levels")
        for lv, (u, tabs, stages) in enumerate(zip(self.unigrams, self.tables, self.stages)):
            if u.shape != (sizes[lv],) or (u.size and u.min() < 0):
                raise CompressError(f"context model level {lv}: unigram does not fit codebook size {sizes[lv]}")
            if len(tabs) != len(stages):
                raise CompressError(f"context model level {lv}: {len(tabs)} tables for {len(stages)} stages")
            for s, (t, st) in enumerate(zip(tabs, stages)):
                problem = t.check(sizes[lv], f"context model level {lv} stage {s}")
                if problem or t.n_rows != st.rows:
                    raise CompressError(
                        problem or f"context model level {lv} stage {s}: {t.n_rows} rows, not {st.rows}"
                    )

    @property
    def levels(self) -> int:
        return self.spec.levels

    def level_stages(self, level: int) -> list[LevelStage]:
        """The stages used at `level`, least specific first."""
        return self.stages[level]

    @property
    def identity(self) -> str:
        """Hex SHA-256 of the config, the codec spec and every table: what a compressed file names."""
        if self._identity is None:
            h = hashlib.sha256()
            h.update(json.dumps({"config": asdict(self.config), "spec": asdict(self.spec)}, sort_keys=True).encode())
            for name, t in sorted(self.tensors().items()):
                h.update(f"\0{name}\0{t.dtype}\0{t.shape}\0".encode())
                h.update(np.ascontiguousarray(t).tobytes())
            self._identity = h.hexdigest()
        return self._identity

    def tensors(self) -> dict[str, np.ndarray]:
        """Every table as named arrays (what is stored)."""
        out = {}
        for lv, (u, tabs) in enumerate(zip(self.unigrams, self.tables)):
            out[f"level{lv}.unigram"] = u
            small = np.int16 if self.spec.codebook_sizes[lv] <= 1 << 15 else np.int32
            for s, t in enumerate(tabs):
                out[f"level{lv}.stage{s}.indptr"] = t.indptr.astype(np.int32)
                out[f"level{lv}.stage{s}.symbols"] = t.symbols.astype(small)
                out[f"level{lv}.stage{s}.counts"] = t.counts
        return out

    def n_entries(self) -> int:
        """Stored count entries over all tables (the model's size, beside its row pointers)."""
        return sum(t.nnz for tabs in self.tables for t in tabs)

    # -- probabilities ------------------------------------------------------------------------
    def _unigram(self, level: int) -> np.ndarray:
        u = self.unigrams[level].astype(np.float64)
        prior = self.config.prior
        return (u + prior) / (float(self.unigrams[level].sum()) + prior * u.shape[0])

    def distribution(self, level: int, rows: tuple[int, ...]) -> np.ndarray:
        """Probabilities of `level`'s codes in the context whose stage rows (least specific first) are `rows`."""
        key = (level, rows)
        p = self._dist.get(key)
        if p is None:
            p = self._base[level] if not rows else self._mix(level, rows)
            if len(self._dist) >= _CACHE_LIMIT:
                self._dist.clear()
            self._dist[key] = p
        return p

    def _mix(self, level: int, rows: tuple[int, ...]) -> np.ndarray:
        backoff = self.distribution(level, rows[:-1])
        table = self.tables[level][len(rows) - 1]
        r = rows[-1]
        total = int(table.totals[r])
        if total == 0:
            return backoff
        d = self.config.discount
        symbols, counts = table.row(r)
        p = backoff * (d * int(table.distinct[r]) / total)
        p[symbols] += (counts - d) / total
        return p

    def coder_model(self, level: int, rows: tuple[int, ...]) -> constriction.stream.model.Categorical:
        """The range coder's model for one context (cached; the same for encoder and decoder)."""
        key = (level, rows)
        m = self._models.get(key)
        if m is None:
            p = self._mix(level, rows) if rows else self._base[level]  # the full context's: built once, not kept
            m = constriction.stream.model.Categorical(p, perfect=False)
            if len(self._models) >= _CACHE_LIMIT:
                self._models.clear()
            self._models[key] = m
        return m
