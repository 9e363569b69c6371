"""Corpus tokenization speed: audio hours per wall hour of `codeckit tokenize --shards` (batched by length, Shar +
Parquet) at 1 and 2 processes, beside the per-file path (`codeckit tokenize`, one token file per utterance) on the
same corpus, for the default recipe's model and SNAC 24 kHz (random init: it times the same as trained weights).

Each run is a fresh `codeckit` process (start-up and model loading included, as a user sees it), one torch thread
per process, so 1 vs 2 processes measures scaling across processes. The corpus is the first `--hours` of a wav.scp
(default: the synthetic corpus' training list, ~4.1 h; durations from utt2dur beside it when present).

    python benches/corpus_tokenize.py --models fast --repeats 3     # -> benches/results/corpus_tokenize_fast.json
    python benches/corpus_tokenize.py --models snac_24khz --hours 0.05 --repeats 3   # ..._snac_24khz.json
    python benches/corpus_tokenize.py --check --hours 2.0          # read-back check over >= 2 h, 2 processes

`--check` tokenizes with 2 processes into shards and file by file, then reads the shards back with Lhotse's own
`CutSet.from_shar`, HF `datasets.load_dataset("parquet", ...)` and `codeckit.tokens.shards.ShardSet`, and compares
every utterance's codes (and length) with its per-file token file; it exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from codeckit.bench.table import markdown_table
from codeckit.fileio import write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "egs/synth_speech/codec"
DEFAULT_SCP = RECIPE / "data/train/wav.scp"


def corpus_subset(scp: Path, hours: float, out: Path) -> tuple[Path, float]:
    """The first utterances of `scp` adding up to `hours` (all when None) as a new wav.scp; (its path, its hours)."""
    import soundfile as sf

    durs = {}
    if (scp.parent / "utt2dur").is_file():
        durs = {k: float(v) for k, v in (line.split() for line in (scp.parent / "utt2dur").read_text().splitlines())}
    lines, total = [], 0.0
    for line in scp.read_text().splitlines():
        if not line.strip():
            continue
        utt, path = line.split(maxsplit=1)
        total += durs[utt] if utt in durs else sf.info(path).duration
        lines.append(line)
        if hours and total >= hours * 3600:
            break
    out.write_text("\n".join(lines) + "\n")
    return out, total / 3600


def model_dirs(names: list[str], tmp: Path) -> dict[str, Path]:
    """Model folders by bench name: `fast` is the recipe's trained model when it is today's conf/fast.yaml model
    (an exp/ left by an older config is another model, with another speed), else conf/fast.yaml at random init;
    `snac_24khz` (and any other shipped config name) at random init."""
    from dataclasses import asdict

    import yaml

    from codeckit.codecs import build_codec, save_codec
    from codeckit.configs import model_config
    from codeckit.train.config import load_training_config

    dirs = {}
    for name in names:
        torch.manual_seed(0)
        if name == "fast":
            cfg = asdict(load_training_config(RECIPE / "conf/fast.yaml").model)
            trained = RECIPE / "exp/fast/model"
            saved = trained / "config.yaml"
            if (trained / "model.safetensors").is_file() and yaml.safe_load(saved.read_text()).get("model") == cfg:
                dirs[name] = trained
            else:
                dirs[name] = save_codec(build_codec(cfg), tmp / name)
        else:
            dirs[name] = save_codec(build_codec(model_config(name)["model"]), tmp / name)
    return dirs


def timed_run(args: list[str]) -> float:
    """Wall seconds of one `codeckit` process (one torch thread per worker); raises if it fails."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "codeckit", *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"codeckit {' '.join(args)} failed:\n{res.stderr[-3000:]}")
    return wall


def shard_size(scp: Path) -> int:
    """Utterances per shard: 200, or fewer so that there are at least 32 shards. A corpus-scale run gives every
    worker many shards; with few, one shard more for one process (ranges are contiguous) would be what is timed."""
    n_utts = sum(1 for line in scp.read_text().splitlines() if line.strip())
    return max(1, min(200, -(-n_utts // 32)))


def bench_model(
    name: str, model: Path, scp: Path, hours: float, procs: list[int], tmp: Path, repeats: int = 1
) -> list[dict]:
    """Rows for one model: the per-file and the shard path at each process count, the median wall time of
    `repeats` runs (taken in turn, so a slow spell of the machine touches every row alike)."""
    runs = [(p, path) for p in procs for path in ("per-file", "shards")]
    walls: dict[tuple[int, str], list[float]] = {run: [] for run in runs}
    for r in range(repeats):
        for p, path in runs:
            out = tmp / f"{name}_{path}_{p}_{r}"
            args = ["tokenize", str(scp), "--model", str(model), "--out", str(out), "--jobs", str(p), "--threads", "1"]
            if path == "shards":
                args += ["--shards", "shar,parquet", "--shard-size", str(shard_size(scp))]
            walls[(p, path)].append(timed_run(args))
            shutil.rmtree(out)
    rows = []
    for (p, path), w in walls.items():
        wall = statistics.median(w)
        rows.append({"model": name, "path": path, "processes": p, "audio_hours": round(hours, 4),
                     "wall_s": round(wall, 2), "wall_s_runs": [round(x, 2) for x in w],
                     "hours_per_hour": round(hours * 3600 / wall, 2)})  # fmt: skip
    return rows


def speedups(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per model: shards at the most processes over shards at 1, and shards over per-file at each process count."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(r["model"] for r in rows):
        rate = {(r["path"], r["processes"]): r["hours_per_hour"] for r in rows if r["model"] == name}
        procs = sorted({p for _, p in rate})
        s = {f"shards_{procs[-1]}_vs_1_processes": rate[("shards", procs[-1])] / rate[("shards", procs[0])]}
        s |= {f"shards_vs_per_file_{p}_processes": rate[("shards", p)] / rate[("per-file", p)] for p in procs}
        out[name] = {k: round(v, 3) for k, v in s.items()}
    return out


def check(model: Path, scp: Path, tmp: Path) -> dict:
    """Tokenize `scp` with 2 processes both ways; compare every utterance as read back by each reader."""
    import datasets
    from lhotse import CutSet

    from codeckit.tokens import load_tokens
    from codeckit.tokens.shards import ShardSet

    files, shards = tmp / "check_files", tmp / "check_shards"
    base = ["--model", str(model), "--jobs", "2", "--threads", "1"]
    timed_run(["tokenize", str(scp), *base, "--out", str(files)])
    timed_run(["tokenize", str(scp), *base, "--out", str(shards), "--shards", "shar,parquet",
               "--shard-size", str(shard_size(scp))])  # fmt: skip
    ids = [line.split()[0] for line in scp.read_text().splitlines() if line.strip()]
    ref = {u: load_tokens(files / f"{u}.tokens.safetensors") for u in ids}

    def same(utt: str, codes: list, length: int | None) -> bool:
        r = ref[utt]
        ok = len(codes) == len(r.codes) and length == r.header.length
        return ok and all(torch.equal(torch.as_tensor(a).long(), b) for a, b in zip(codes, r.codes))

    shard_set = ShardSet(shards)
    fields = shard_set.plan["codes_fields"]
    lhotse_seen = {}
    for cut in CutSet.from_shar(in_dir=shards / "shar"):
        codes = [cut.load_custom(f) for f in fields]
        codes = list(torch.from_numpy(codes[0]).T) if fields == ["codes"] else [torch.from_numpy(c) for c in codes]
        lhotse_seen[cut.id] = same(cut.id, codes, cut.codes_meta["length"])
    data = sorted(str(p) for p in (shards / "parquet").glob("*.parquet"))
    ds = datasets.load_dataset("parquet", data_files=data, split="train", cache_dir=str(tmp / "hf_cache"))
    hf_seen = {row["id"]: same(row["id"], row["codes"], row["length"]) for row in ds}
    ours = {item.id: same(item.id, item.codes, item.length) for item in shard_set.items()}
    result = {"utterances": len(ids), "audio_hours": round(sum(r.header.length for r in ref.values())
                                                           / shard_set.codec["sample_rate"] / 3600, 4)}  # fmt: skip
    for reader, seen in (("lhotse_from_shar", lhotse_seen), ("hf_datasets", hf_seen), ("codeckit_shardset", ours)):
        result[reader] = {"read": len(seen), "equal": sum(seen.values()), "missing": len(set(ids) - set(seen)),
                          "differ": sorted(u for u, ok in seen.items() if not ok)[:20]}  # fmt: skip
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scp", type=Path, default=DEFAULT_SCP, help="corpus wav.scp (default: the synthetic train list)")
    ap.add_argument("--hours", type=float, default=None, help="use the first H hours (default: all; --check: 2.0)")
    ap.add_argument("--models", nargs="+", default=["fast", "snac_24khz"], help="fast and / or shipped config names")
    ap.add_argument("--procs", type=int, nargs="+", default=[1, 2], help="process counts (default 1 2)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per row; the table shows the median (default 1)")
    ap.add_argument("--check", action="store_true", help="read-back check instead of the speed table")
    ap.add_argument(
        "--out", type=Path, default=None, help="JSON file (default: benches/results/corpus_tokenize_MODELS.json)"
    )
    args = ap.parse_args()
    hours_wanted = args.hours if args.hours is not None else (2.0 if args.check else None)
    with tempfile.TemporaryDirectory(prefix="corpus_tokenize_") as td:
        tmp = Path(td)
        scp, hours = corpus_subset(args.scp, hours_wanted, tmp / "wav.scp")
        dirs = model_dirs(args.models, tmp)
        if args.check:
            result = {"corpus": str(args.scp), "model": args.models[0], **check(dirs[args.models[0]], scp, tmp)}
            print(json.dumps(result, indent=1))
            out = args.out or ROOT / "benches/results/corpus_tokenize_check.json"
            write_text_atomic(out, json.dumps(result, indent=1) + "\n")
            readers = [v for v in result.values() if isinstance(v, dict)]
            sys.exit(0 if all(r["equal"] == r["read"] == result["utterances"] for r in readers) else 1)
        rows = [r for name, d in dirs.items() for r in bench_model(name, d, scp, hours, args.procs, tmp, args.repeats)]
    header = ["model", "path", "processes", "audio h", "wall s", "audio h / wall h"]
    cells = [[r["model"], r["path"], str(r["processes"]), f"{r['audio_hours']:.3f}", f"{r['wall_s']:.1f}",
              f"{r['hours_per_hour']:.1f}"] for r in rows]  # fmt: skip
    print(markdown_table(header, cells), end="")
    result = {"corpus": str(args.scp), "audio_hours": round(hours, 4), "threads_per_process": 1,
              "repeats": args.repeats, "models": {n: str(d) for n, d in dirs.items()}, "rows": rows,
              "speedups": speedups(rows)}  # fmt: skip
    print(json.dumps(result["speedups"], indent=1))
    out = args.out or ROOT / f"benches/results/corpus_tokenize_{'_'.join(args.models)}.json"
    write_text_atomic(out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
