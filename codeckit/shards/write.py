"""Writing one shard: Lhotse Shar (through `lhotse`'s SharWriter) and / or Parquet (through `pyarrow`), first
in a temporary folder, then renamed into place, then recorded in the index.

Outputs are byte-identical from run to run: tar members carry no times, and the gzip headers Python writes
(with the time and file name) are rewritten without them.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codeckit.shards.index import shard_tag, write_record
from codeckit.shards.sources import Item


@dataclass
class Coded:
    """One tokenized utterance: codes per level (1-D int64), length at the codec's rate, and where it came from."""

    codes: list[torch.Tensor]
    length: int
    source: str | None
    source_rate: int


def write_shard(
    out: Path, k: int, plan: dict[str, Any], items: list[Item], coded: dict[str, Coded], errors: list[dict]
) -> None:
    """Write shard `k` (its `items` in corpus order, those in `coded` tokenized) and record it in the index."""
    tmp = out / ".tmp" / f"shard.{shard_tag(k)}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    written: list[Path] = []
    if "shar" in plan["formats"]:
        written += _write_shar(tmp / "shar", k, plan, items, coded)
    if "parquet" in plan["formats"]:
        written.append(_write_parquet(tmp / "parquet" / f"shard.{shard_tag(k)}.parquet", plan, items, coded))
    finals = []
    for p in written:  # every file complete (and on disk) before the first rename
        with open(p, "rb+") as f:
            os.fsync(f.fileno())
    for p in written:
        final = out / p.relative_to(tmp)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(p, final)
        finals.append(final)
    seconds = sum(c.length for c in coded.values()) / plan["codec"]["sample_rate"]
    write_record(out, k, finals, len(coded), seconds, errors)
    shutil.rmtree(tmp, ignore_errors=True)


def code_dtype(codebook_sizes: list[int]) -> np.dtype:
    """The smallest integer type that holds every code (as token files store them)."""
    return np.dtype(np.int16) if max(codebook_sizes) <= 2**15 else np.dtype(np.int32)


def _write_shar(folder: Path, k: int, plan: dict[str, Any], items: list[Item], coded: dict[str, Coded]) -> list[Path]:
    """Shar files of shard `k`: the codes field(s) and `codes_meta`, plus the cuts unless the input was Shar (whose
    own cuts stay the manifest: a skipped utterance then gets a placeholder, as Lhotse expects)."""
    from lhotse import Recording
    from lhotse.shar import SharWriter

    names = plan["codes_fields"]
    include_cuts = plan["kind"] != "shar"
    fields = {**{name: "numpy" for name in names}, "codes_meta": "jsonl"}
    folder.mkdir(parents=True)
    with SharWriter(
        str(folder), fields, shard_size=None, shard_suffix=f".{shard_tag(k)}",
        include_cuts=include_cuts, warn_unused_fields=False,
    ) as writer:  # fmt: skip
        for item in items:
            c = coded.get(item.id)
            if c is None and include_cuts:
                continue
            cut = item.cut if item.cut is not None else Recording.from_file(item.path, recording_id=item.id).to_cut()
            writer.write(cut if c is None else _attach(cut, c, names, plan["codec"]))
    files = sorted(folder.iterdir())
    for p in files:
        if p.name.endswith(".gz"):
            _normalize_gzip(p)
    return files


def _attach(cut: Any, c: Coded, names: list[str], codec: dict[str, Any]) -> Any:
    """`cut` with its codes attached as Lhotse arrays and its `codes_meta` (length, rates, source, frame rates).

    Plain (not temporal) arrays: the codes cover the codec's padded span, which Lhotse would trim to the cut's
    duration; `cut.load_codes()` gives them whole, as `tokenize` does.
    """
    dtype = code_dtype(codec["codebook_sizes"])
    sr = codec["sample_rate"]
    if names == ["codes"]:  # one rate: (frames, levels)
        cut = cut.attach_tensor("codes", np.stack([x.numpy() for x in c.codes], 1).astype(dtype))
    else:
        for name, x in zip(names, c.codes):
            cut = cut.attach_tensor(name, x.numpy().astype(dtype))
    cut.custom["codes_meta"] = {
        "length": c.length, "sample_rate": sr, "frame_rates": codec["frame_rates"][: len(c.codes)],
        "source": c.source, "source_sample_rate": c.source_rate,
    }  # fmt: skip
    return cut


def _write_parquet(path: Path, plan: dict[str, Any], items: list[Item], coded: dict[str, Coded]) -> Path:
    """The shard as one Parquet table: id, codes (one list per level), length, rates, source, and with a layout
    the LM's `input_ids`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    codec = plan["codec"]
    rows = [(item.id, coded[item.id]) for item in items if item.id in coded]
    int_type = pa.from_numpy_dtype(code_dtype(codec["codebook_sizes"]))
    columns = {
        "id": pa.array([i for i, _ in rows], pa.string()),
        "codes": pa.array([[x.numpy() for x in c.codes] for _, c in rows], pa.list_(pa.list_(int_type))),
        "length": pa.array([c.length for _, c in rows], pa.int64()),
        "sample_rate": pa.array([codec["sample_rate"]] * len(rows), pa.int32()),
        "source": pa.array([c.source for _, c in rows], pa.string()),
        "source_sample_rate": pa.array([c.source_rate for _, c in rows], pa.int32()),
    }
    if plan["layout"]:
        from codeckit.tokens.presets import layout

        lay = layout(plan["layout"])
        ids = [lay.encode(c.codes).tolist() for _, c in rows]
        nested = bool(ids) and isinstance(ids[0][0] if ids[0] else 0, list)
        columns["input_ids"] = pa.array(ids, pa.list_(pa.list_(pa.int64())) if nested else pa.list_(pa.int64()))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), str(path), compression="zstd")
    return path


def _normalize_gzip(path: Path) -> None:
    """Rewrite a gzip file with no time or name in its header, so equal content gives equal bytes."""
    data = gzip.decompress(path.read_bytes())
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(data)
