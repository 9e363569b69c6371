"""The plan of a run (`plan.json`): what every worker of a run must agree on, and which shards a worker takes.

Every worker computes the plan from the same command line and writes it atomically when the folder has
none; a folder planned from other inputs, another codec, shard size or formats is refused, so shards of
two runs never mix and a rerun resumes only the run it continues.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codeckit.fileio import write_text_atomic
from codeckit.shards.errors import ShardError
from codeckit.shards.sources import Source

VERSION = 1
FORMATS = ("shar", "parquet")


def make_plan(
    source: Source, spec: Any, codec_id: str, n_quantizers: int, formats: list[str], layout: str | None
) -> dict[str, Any]:
    """The plan for `source` tokenized by the codec declared by `spec` (a CodecSpec) into `formats`."""
    hops = list(spec.hop_lengths)
    return {
        "version": VERSION,
        "kind": source.kind,
        "digest": source.digest,
        "n_shards": source.n_shards,
        "shar_input": source.shar_dir,
        "formats": list(formats),
        "layout": layout,
        "codes_fields": codes_fields(hops[:n_quantizers]),
        "codec": {
            "codec_id": codec_id,
            "sample_rate": spec.sample_rate,
            "channels": spec.channels,
            "levels": spec.n_levels,
            "hop_lengths": hops,
            "frame_rates": list(spec.frame_rates),
            "codebook_sizes": list(spec.codebook_sizes),
            "n_quantizers": n_quantizers,
        },
    }


def codes_fields(hops: list[int]) -> list[str]:
    """Shar field names of the codes: one `codes` field (frames x levels) when all levels share a rate, else
    one `codes_L` field per level."""
    return ["codes"] if len(set(hops)) == 1 else [f"codes_{level}" for level in range(len(hops))]


def parse_formats(text: str) -> list[str]:
    """`shar`, `parquet` or `shar,parquet` as a list (ShardError for anything else)."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ShardError(f"--shards takes {' / '.join(FORMATS)} or both comma-separated, got '{text}'")
    return [f for f in FORMATS if f in formats]


def save_or_check_plan(out: Path, plan: dict[str, Any]) -> None:
    """Write `out/plan.json`, or check that the one there is this plan (ShardError naming what differs)."""
    path = out / "plan.json"
    if path.is_file():
        old = read_plan(out)
        diff = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
        if diff:
            raise ShardError(
                f"{out} holds shards of another run ({', '.join(diff)} differ{'s' if len(diff) == 1 else ''}); "
                "use another --out, or remove it to start over"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(plan, indent=1, sort_keys=True) + "\n")


def read_plan(out: Path) -> dict[str, Any]:
    """The plan of the shard folder `out`."""
    path = Path(out) / "plan.json"
    if not path.is_file():
        raise ShardError(f"{out} is not a shard folder: no plan.json (made by 'codeckit tokenize --shards')")
    try:
        plan = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ShardError(f"{path}: not valid JSON ({e})") from None
    if plan.get("version") != VERSION:
        raise ShardError(f"{path}: plan version {plan.get('version')} is not supported (expected {VERSION})")
    return plan


def rank_shards(n_shards: int, rank: int, world: int) -> range:
    """The contiguous range of shards worker `rank` of `world` takes (sizes differ by at most one)."""
    if world < 1 or not 0 <= rank < world:
        raise ShardError(f"worker {rank} of {world}: need 0 <= rank < world size")
    return range(rank * n_shards // world, (rank + 1) * n_shards // world)
