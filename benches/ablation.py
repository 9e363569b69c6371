"""Ablation table for the quality issue: one row per trained experiment, scored on one shared leaderboard.

For each experiment directory (what `egs/*/codec/run.sh` leaves under exp/TAG: train.yaml, train.log,
model/) the row holds: training wall time (first to last line of train.log), audio hours seen (steps x
batch x segment x processes), parameters, decoder GMAC per second of audio (FlopCounterMode on 1 s, half its
FLOPs), nominal and effective kbps, PESQ-WB, STOI and ViSQOL speech from the leaderboard's results.json
(`codeckit bench` run with every experiment's model, named by its tag). Baseline rows come from the same
leaderboard, so the table compares like with like.

    python benches/ablation.py --exps exp/cpu exp/abl_vocos ... --bench exp/ablation/bench \
        --out RESULTS_ablation.json [--markdown RESULTS_table.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from codeckit.bench.table import markdown_table
from codeckit.codecs import load_codec
from codeckit.fileio import write_text_atomic

QUALITY = ("pesq_wb", "stoi", "visqol_speech")


def wall_minutes(log: Path) -> float | None:
    """Minutes from the first to the last timestamped line of a train.log."""
    stamps = []
    for line in log.read_text().splitlines():
        try:
            stamps.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"))
        except ValueError:
            continue
    return (stamps[-1] - stamps[0]).total_seconds() / 60 if len(stamps) > 1 else None


def last_step(exp: Path) -> int:
    """The last step logged to metrics.jsonl (the steps actually trained)."""
    step = 0
    for line in (exp / "metrics.jsonl").read_text().splitlines():
        step = max(step, int(json.loads(line).get("step", 0)))
    return step


def decoder_gmac_per_second(model_dir: Path) -> tuple[float, float]:
    """(parameters in millions, decoder GMAC per second of audio) of a trained model."""
    codec = load_codec(model_dir).eval()
    params = sum(p.numel() for p in codec.parameters()) / 1e6
    x = torch.zeros(1, codec.channels, codec.sample_rate)
    with torch.no_grad():  # not inference_mode: weight-norm parametrizations fail under it with FlopCounterMode
        codes = codec.encode(x)
        with FlopCounterMode(display=False) as counter:
            codec.decode(codes)
    return params, counter.get_total_flops() / 2 / 1e9


def experiment_row(exp: Path, board: dict[str, dict]) -> dict:
    """One ablation row for experiment directory `exp` (its leaderboard entry is named by the folder)."""
    conf = yaml.safe_load((exp / "train.yaml").read_text())
    steps = last_step(exp)
    data = conf["data"]
    hours = steps * data["batch_size"] * data["segment_seconds"] / 3600
    params, gmac = decoder_gmac_per_second(exp / "model")
    entry = board.get(exp.name, {})
    row = {
        "config": exp.name,
        "train_minutes": wall_minutes(exp / "train.log"),
        "steps": steps,
        "audio_hours_seen": hours,
        "params_m": params,
        "decoder_gmac_per_s": gmac,
    }
    return row | _quality(entry)


def _quality(entry: dict) -> dict:
    out = {"nominal_kbps": _kbps(entry.get("nominal_bps")), "effective_kbps": _kbps(entry.get("effective_bps"))}
    for m in QUALITY:
        out[m] = (entry.get("metrics", {}).get(m) or {}).get("mean")
    return out


def _kbps(bps: float | None) -> float | None:
    return None if bps is None else bps / 1000


def _cell(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def markdown(rows: list[dict]) -> str:
    """The ablation table as markdown."""
    cols = [("config", "Config", "s"), ("train_minutes", "Train min", ".1f"), ("steps", "Steps", "d"),
            ("audio_hours_seen", "Audio h seen", ".2f"), ("params_m", "Params M", ".2f"),
            ("decoder_gmac_per_s", "Dec GMAC/s", ".3f"), ("nominal_kbps", "Nominal kbps", ".2f"),
            ("effective_kbps", "Effective kbps", ".2f"), ("pesq_wb", "PESQ-WB", ".3f"), ("stoi", "STOI", ".3f"),
            ("visqol_speech", "ViSQOL speech", ".3f")]  # fmt: skip
    return markdown_table([c[1] for c in cols], [[_cell(r.get(k), f) for k, _, f in cols] for r in rows])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exps", nargs="+", required=True, help="experiment directories (exp/TAG)")
    p.add_argument("--bench", required=True, help="the leaderboard directory holding results.json")
    p.add_argument("--out", required=True, help="JSON output")
    p.add_argument("--markdown", help="also write the table here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    board = {c["name"]: c for c in json.loads((Path(args.bench) / "results.json").read_text())["codecs"]}
    rows = [experiment_row(Path(e), board) for e in args.exps]
    names = {Path(e).name for e in args.exps}
    rows += [{"config": n} | _quality(c) for n, c in board.items() if n not in names and c["kind"] != "identity"]
    table = markdown(rows)
    print(table, end="")
    write_text_atomic(args.out, json.dumps({"rows": rows, "bench": str(args.bench)}, indent=2) + "\n")
    if args.markdown:
        write_text_atomic(args.markdown, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
