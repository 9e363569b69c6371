"""The most that batching can buy a codec's encoder on this machine: 32 utterances of exactly equal length
(no padding, so nothing for masking to fix and the codes are exact) encoded in one forward pass, against the
same 32 one at a time, at 1 and 2 torch threads. Corpus tokenization cannot gain more from batching than this.

    python benches/batching_ceiling.py --models fast snac_24khz    # -> benches/results/batching_ceiling.json

`fast` is the default recipe's model (its trained weights when exp/fast holds today's conf/fast.yaml model,
else random init), other names are shipped configs at random init (they time the same as trained weights).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch
from corpus_tokenize import DEFAULT_SCP, ROOT, model_dirs  # benches/ is the script's folder, first on sys.path

from codeckit.bench.table import markdown_table
from codeckit.codecs import load_codec
from codeckit.fileio import write_text_atomic


def equal_length_batch(scp: Path, n: int, seconds: float, sample_rate: int) -> torch.Tensor:
    """(n, 1, seconds * sample_rate): the first `seconds` of the first n utterances at least that long."""
    rows = []
    for line in scp.read_text().splitlines():
        if not line.strip():
            continue
        audio, sr = sf.read(line.split(maxsplit=1)[1], dtype="float32", always_2d=True)
        if audio.shape[0] >= seconds * sr:
            rows.append(torch.from_numpy(audio[: int(seconds * sr), 0].copy()))
        if len(rows) == n:
            break
    if len(rows) < n:
        raise SystemExit(f"{scp}: fewer than {n} utterances of at least {seconds} s")
    x = torch.stack(rows)[:, None]
    if sample_rate != sr:  # the timing does not depend on the content: a linear resample is enough
        x = torch.nn.functional.interpolate(x, size=int(seconds * sample_rate), mode="linear")
    return x


def time_model(codec, x: torch.Tensor, threads: int, repeats: int) -> dict:
    """Median seconds to encode the batch one item at a time and in one pass; whether the codes agree."""
    torch.set_num_threads(threads)
    singles, batched = [], []
    with torch.inference_mode():
        codec.encode(x[:2])  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            one = [codec.encode(x[i : i + 1]) for i in range(x.shape[0])]
            singles.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            all_ = codec.encode(x)
            batched.append(time.perf_counter() - t0)
    equal = all(torch.equal(all_[lv][i], one[i][lv][0]) for i in range(x.shape[0]) for lv in range(len(all_)))
    one_s, batch_s = statistics.median(singles), statistics.median(batched)
    return {"one_at_a_time_s": round(one_s, 4), "one_batch_s": round(batch_s, 4),
            "speedup": round(one_s / batch_s, 3), "codes_equal": equal}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["fast", "snac_24khz"])
    ap.add_argument("--scp", type=Path, default=DEFAULT_SCP)
    ap.add_argument("--batch", type=int, default=32, help="utterances per batch (default 32)")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of every utterance (default 3 s)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benches/results/batching_ceiling.json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="batching_ceiling_") as td:
        for name, d in model_dirs(args.models, Path(td)).items():
            codec = load_codec(d).eval()
            x = equal_length_batch(args.scp, args.batch, args.seconds, codec.sample_rate)
            for threads in args.threads:
                rows.append({"model": name, "threads": threads, **time_model(codec, x, threads, args.repeats)})
    header = ["model", "threads", f"{args.batch} one at a time (s)", "one batch (s)", "speed-up", "codes equal"]
    cells = [[r["model"], str(r["threads"]), f"{r['one_at_a_time_s']:.3f}", f"{r['one_batch_s']:.3f}",
              f"{r['speedup']:.2f}", str(r["codes_equal"])] for r in rows]  # fmt: skip
    print(markdown_table(header, cells), end="")
    result = {"batch": args.batch, "seconds_each": args.seconds, "scp": str(args.scp), "rows": rows}
    write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
