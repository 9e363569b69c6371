"""Word error rate of a units model's decoding paths, on a Kaldi test list with transcripts (pocketsphinx ASR).

Rows: the original audio; (a) frame-rate units; (b) de-duplicated units with the model directory's predicted
durations; (b*) de-duplicated units with their true durations (the ceiling of (b): same audio as (a) when the
predictor is perfect). Bits: (a) frame rate x log2(k); (b) log2(k) per de-duplicated unit, durations free.
Prints a table and writes JSON.

    nice -n 19 python benches/units_dedup_wer.py MODEL_DIR --data egs/synth_speech/codec/data/test --n 30 \\
        --out benches/results/units_dedup_wer.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from codeckit.bench.table import print_table


def transcripts(data: Path) -> dict[str, str]:
    """utt-id -> transcript from a Kaldi `text` file."""
    out = {}
    for line in (data / "text").read_text().splitlines():
        utt, _, words = line.partition(" ")
        if words.strip():
            out[utt] = words.strip()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", type=Path)
    p.add_argument("--data", type=Path, default=Path("egs/synth_speech/codec/data/test"))
    p.add_argument("--n", type=int, default=30, help="first N utterances of the list (non-English ones skipped)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benches/results/units_dedup_wer.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from codeckit.audio import read_audio
    from codeckit.metrics.base import MetricError
    from codeckit.metrics.wer import check_english, wer
    from codeckit.train.data import read_wav_scp
    from codeckit.units.duration_fit import DedupUnits

    units = DedupUnits(args.model_dir)
    codec, k = units.model.codec, units.model.codebook_sizes[0]
    text = transcripts(args.data)
    rows: dict[str, list[float]] = {"original": [], "a_frames": [], "b_dedup_predicted": [], "b_dedup_true": []}
    bits = {"a_frames": 0.0, "b_dedup_predicted": 0.0}
    seconds, skipped = 0.0, 0
    for utt, path in read_wav_scp(args.data / "wav.scp")[: args.n]:
        try:
            check_english(text[utt])
        except MetricError:  # a transcript the English ASR cannot score (the metric's own rule)
            skipped += 1
            continue
        audio, sr = read_audio(path, codec.sample_rate)
        (runs,) = units.tokenize(audio, sr=sr)
        (frames,) = units.model.detokenize(units.model.tokenize(audio, sr=sr))
        (true,) = units.detokenize(runs.values, counts=[runs.counts])
        (pred,) = units.detokenize(runs.values)
        for key, y in (("original", audio), ("a_frames", frames), ("b_dedup_true", true), ("b_dedup_predicted", pred)):
            rows[key].append(wer(y, sr, text[utt]))
        seconds += audio.shape[-1] / sr
        bits["a_frames"] += int(runs.counts.sum()) * math.log2(k)
        bits["b_dedup_predicted"] += len(runs.values) * math.log2(k)
    result = {key: {"wer": sum(v) / len(v), "files": len(v)} for key, v in rows.items()}
    for key in bits:
        result[key]["bps"] = bits[key] / seconds
    header = ["path", "files", "WER", "bit/s"]
    cells = [[k_, str(v["files"]), f"{v['wer']:.3f}", f"{v['bps']:.0f}" if "bps" in v else "-"]
             for k_, v in result.items()]  # fmt: skip
    print_table(header, cells, align="<>>>")
    print(f"{skipped} of the first {args.n} utterances skipped: transcripts the English ASR does not score")
    doc = {"model_dir": str(args.model_dir), "data": str(args.data), "units": k, "skipped": skipped, "rows": result}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
