"""Reading corpus shards back (folders written by `codeckit tokenize --shards`): what an LM data loader needs.

    shards = ShardSet("exp/tokens/train")            # finished shards only; all must be finished unless partial=True
    for utt_id, codes in shards:                     # codes: one 1-D int64 tensor per level, coarse to fine
        ...
    for tokens in shards.tokens(batch_size=16):      # `Tokens` batches, as `CodecModel.tokenize` returns
        ...
    cuts = CutSet.from_shar(fields=shards.shar_fields())   # the same codes through Lhotse (cut.load_codes())

Parquet shards are read when the run wrote them (they are the faster read), else the Shar shards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from codeckit.shards.errors import ShardError
from codeckit.shards.index import read_record, shard_tag
from codeckit.shards.plan import read_plan
from codeckit.tokens.batch import Tokens
from codeckit.tokens.tokenfile import TokenHeader


@dataclass
class ShardItem:
    """One utterance read back: its id, codes per level, length (samples at the codec's rate) and source."""

    id: str
    codes: list[torch.Tensor]
    length: int
    source: str | None
    source_sample_rate: int | None


class ShardSet:
    """The finished shards of a shard folder, in shard order."""

    def __init__(self, folder: str | os.PathLike, format: str | None = None, partial: bool = False):
        self.folder = Path(folder)
        self.plan = read_plan(self.folder)
        records = [read_record(self.folder, k) for k in range(self.plan["n_shards"])]
        missing = [shard_tag(k) for k, r in enumerate(records) if r is None]
        if missing and not partial:
            raise ShardError(
                f"{self.folder}: {len(missing)} of {len(records)} shards are not finished (first: {missing[0]}); "
                "rerun the tokenization to finish them, or pass partial=True"
            )
        self.shards = [k for k, r in enumerate(records) if r is not None]
        self.records = {k: records[k] for k in self.shards}
        formats = self.plan["formats"]
        self.format = format or ("parquet" if "parquet" in formats else "shar")
        if self.format not in formats:
            raise ShardError(f"{self.folder} holds {' and '.join(formats)} shards, not {self.format}")

    @property
    def codec(self) -> dict[str, Any]:
        """The codec that made the codes: identity, sample rate, hops, codebook sizes, levels kept."""
        return self.plan["codec"]

    def __len__(self) -> int:
        return sum(r["utterances"] for r in self.records.values())

    def __iter__(self) -> Iterator[tuple[str, list[torch.Tensor]]]:
        """(utterance id, codes per level) for every utterance, in shard order."""
        for item in self.items():
            yield item.id, item.codes

    def items(self) -> Iterator[ShardItem]:
        """Every utterance with its length and source."""
        for k in self.shards:
            yield from (self._parquet(k) if self.format == "parquet" else self._shar(k))

    def tokens(self, batch_size: int = 1) -> Iterator[Tokens]:
        """The utterances as `Tokens` batches of up to `batch_size` (codes zero-padded per level)."""
        batch: list[ShardItem] = []
        for item in self.items():
            batch.append(item)
            if len(batch) == batch_size:
                yield self._batch(batch)
                batch = []
        if batch:
            yield self._batch(batch)

    def header(self, item: ShardItem) -> TokenHeader:
        """The token file header of `item` (what `codeckit tokenize` writes for it file by file)."""
        c = self.codec
        return TokenHeader(
            c["codec_id"], c["sample_rate"], c["channels"], c["levels"], c["hop_lengths"], c["frame_rates"],
            c["codebook_sizes"], c["n_quantizers"], item.length, item.source, item.source_sample_rate,
        )  # fmt: skip

    def shar_fields(self) -> dict[str, list[str]]:
        """`CutSet.from_shar(fields=...)` for these shards: the cuts (the input's own when it was Shar) and codes."""
        if "shar" not in self.plan["formats"]:
            raise ShardError(f"{self.folder} holds no Shar shards (formats: {', '.join(self.plan['formats'])})")
        per_shard = [self._shar_files(k) for k in self.shards]
        return {name: [files[name] for files in per_shard] for name in per_shard[0]} if per_shard else {}

    def _shar_files(self, k: int) -> dict[str, str]:
        """Shard `k`'s Shar file per field (a Shar input's own fields, such as its recordings, included)."""
        tag = shard_tag(k)
        if self.plan["shar_input"]:
            files = {p.name.split(".")[0]: str(p) for p in sorted(Path(self.plan["shar_input"]).glob(f"*.{tag}.*"))}
        else:
            files = {"cuts": str(_one(self.folder / "shar", f"cuts.{tag}.jsonl*"))}
        for name in [*self.plan["codes_fields"], "codes_meta"]:
            files[name] = str(_one(self.folder / "shar", f"{name}.{tag}.*"))
        return files

    def _parquet(self, k: int) -> Iterator[ShardItem]:
        import pyarrow.parquet as pq

        table = pq.read_table(self.folder / "parquet" / f"shard.{shard_tag(k)}.parquet")
        cols = {name: table.column(name).to_pylist() for name in ("id", "codes", "length", "source")}
        rates = table.column("source_sample_rate").to_pylist()
        for j, utt in enumerate(cols["id"]):
            codes = [torch.tensor(level, dtype=torch.long) for level in cols["codes"][j]]
            yield ShardItem(utt, codes, cols["length"][j], cols["source"][j], rates[j])

    def _shar(self, k: int) -> Iterator[ShardItem]:
        from lhotse import CutSet

        names = self.plan["codes_fields"]
        fields = {name: [path] for name, path in self._shar_files(k).items()}
        for cut in CutSet.from_shar(fields=fields):
            if not cut.has_custom(names[0]):
                continue  # skipped when tokenized (listed in the shard's errors); a Shar input keeps its cut
            if names == ["codes"]:
                codes = list(torch.from_numpy(cut.load_custom("codes")).long().T)
            else:
                codes = [torch.from_numpy(cut.load_custom(name)).long() for name in names]
            meta = cut.codes_meta
            yield ShardItem(cut.id, codes, meta["length"], meta["source"], meta["source_sample_rate"])

    def _batch(self, items: list[ShardItem]) -> Tokens:
        n = len(items[0].codes)
        frames = [[c.shape[0] for c in it.codes] for it in items]
        codes = []
        for level in range(n):
            out = torch.zeros(len(items), max(f[level] for f in frames), dtype=torch.long)
            for i, it in enumerate(items):
                out[i, : frames[i][level]] = it.codes[level]
            codes.append(out)
        return Tokens(
            codes, [it.length for it in items], frames, self.codec["sample_rate"], n,
            [it.source for it in items], [it.source_sample_rate for it in items],
        )  # fmt: skip


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise ShardError(f"{folder}: expected one file matching {pattern}, found {len(found)}")
    return found[0]
