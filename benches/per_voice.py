"""A leaderboard's scores per voice: where a codec wins and loses (recorded voices against designed ones).

Reads `codeckit bench`'s per_file.csv and groups its rows by voice: the utterance id up to its last `_`
(the speaker, as Kaldi ids are `<speaker>_<n>`), with `--fold` (a regex) removed so that virtual speakers of one
voice (synth_speech's pitch and tempo shifts `-p+200-t105`) count as one.

    python benches/per_voice.py --bench exp/cpu/bench --metric pesq_wb --codecs cpu codec2-3200 \
        --out benches/results/per_voice_cpu.json
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from pathlib import Path

from codeckit.bench.table import print_table
from codeckit.fileio import write_text_atomic


def per_voice(rows: list[dict], metric: str, fold: str) -> dict[str, dict[str, float]]:
    """{codec: {voice: mean of `metric`}} over the rows that have a value."""
    acc: dict = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r.get(metric) not in (None, ""):
            speaker = r["file"].rsplit("_", 1)[0]
            acc[r["codec"]][re.sub(fold, "", speaker) if fold else speaker].append(float(r[metric]))
    return {c: {v: sum(x) / len(x) for v, x in sorted(by.items())} for c, by in acc.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", required=True, help="a `codeckit bench` output folder (with per_file.csv)")
    ap.add_argument("--metric", default="pesq_wb")
    ap.add_argument("--codecs", nargs="*", help="codec names to show (default: all)")
    ap.add_argument("--fold", default=r"-p[+-]\d+-t\d+", help="regex removed from speaker ids ('' keeps them)")
    ap.add_argument("--out", help="JSON results")
    args = ap.parse_args()
    with open(Path(args.bench) / "per_file.csv", newline="") as f:
        table = per_voice(list(csv.DictReader(f)), args.metric, args.fold)
    codecs = args.codecs or sorted(table)
    missing = [c for c in codecs if c not in table]
    if missing:
        raise SystemExit(f"{args.bench}/per_file.csv has no {args.metric} for {', '.join(missing)}")
    voices = sorted({v for c in codecs for v in table[c]})
    rows = [[v, *(f"{table[c][v]:.3f}" if v in table[c] else "-" for c in codecs)] for v in voices]
    print_table(["voice", *codecs], rows, "<" + ">" * len(codecs))
    if args.out:
        doc = {"bench": args.bench, "metric": args.metric, "per_voice": {c: table[c] for c in codecs}}
        write_text_atomic(args.out, json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
