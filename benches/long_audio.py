"""Long-audio bench: time and peak memory to tokenize (and optionally detokenize) an hour-long file.

A synthetic file of `--minutes` minutes (a wandering tone plus noise, 16-bit PCM at `--file-sr`) is written
block by block. For each model, a fresh process loads it (`codeckit.load`), warms up on noise a few
chunks long, then tokenizes the file from disk with the API's chunking (files are read in blocks,
resampled by a soxr stream, and coded in `--chunk-seconds` chunks: carried state for causal codecs,
overlap-save with `--context-seconds` of context otherwise); `--decode` also decodes the token file
straight to a wav file. Reported per model:

- encode_s / encode_rtf: wall-clock seconds to tokenize, and that over the audio's duration;
- peak_mb: the process's peak resident memory during tokenizing, above its resident memory just before
  (Linux VmHWM after resetting it through /proc/self/clear_refs); `audio_mb` is what the file's samples
  at the codec rate would take as float32, i.e. what loading it whole would need before any model runs;
- decode_s / decode_rtf / decode_peak_mb: the same for `detokenize_to_file`.

Models are model directories, or shipped config names (random weights, which time the same).

    python benches/long_audio.py --models snac_tiny encodec_tiny --minutes 60 --out long_audio.json

On Linux, glibc keeps freed memory for reuse, so peaks vary by a few tens of MB from run to run; run with
`MALLOC_MMAP_THRESHOLD_=131072` in the environment to see the memory the code itself holds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_long_file(path: Path, minutes: float, sr: int, seed: int = 0) -> int:
    """Write `minutes` of 16-bit test audio block by block (bounded memory); returns its sample count."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    total, block, done, phase = int(minutes * 60 * sr), sr * 10, 0, 0.0
    with sf.SoundFile(str(path), "w", sr, 1, subtype="PCM_16") as f:
        while done < total:
            n = min(block, total - done)
            t = np.arange(n) / sr
            freq = 150 + 100 * np.sin(2 * np.pi * (done + np.arange(n)) / sr / 7)
            inst = phase + 2 * np.pi * np.cumsum(freq) / sr
            phase = float(inst[-1])
            x = 0.4 * np.sin(inst) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(n)
            f.write(x.astype(np.float32))
            done += n
    return total


def _status(key: str) -> float:
    """A /proc/self/status memory figure in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(args: argparse.Namespace) -> None:
    """Measure one model in this (fresh) process; print one JSON line."""
    import torch

    import codeckit

    codec = codeckit.load(
        args.model, threads=args.threads, chunk_seconds=args.chunk_seconds, context_seconds=args.context_seconds
    )
    # Warm-up on noise long enough to be chunked (first, middle and last windows), so library code paged
    # in on first use and lazy initialisation are not counted as the long file's memory.
    codec.tokenize(0.1 * torch.randn(codec.channels, 3 * codec.chunk + codec.context + 123), sr=codec.sample_rate)
    codec.tokenize(torch.zeros(codec.channels, codec.sample_rate), sr=codec.sample_rate)
    out = Path(args.workdir)
    tok, wav = out / "long.tokens.safetensors", out / "long_decoded.wav"
    base = _status("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    codec.tokenize_to_file(args.file, tok)
    encode_s = time.perf_counter() - t0
    peak = _status("VmHWM") - base
    from codeckit.tokens import load_tokens

    header = load_tokens(tok).header
    seconds = header.length / header.sample_rate
    row = {
        "model": args.name,
        "sample_rate": codec.sample_rate,
        "audio_minutes": round(seconds / 60, 3),
        "audio_mb": round(header.length * codec.channels * 4 / 2**20, 1),
        "encode_s": round(encode_s, 2),
        "encode_rtf": round(encode_s / seconds, 4),
        "peak_mb": round(peak, 1),
        "frames": [int(round(seconds * r)) for r in header.frame_rates[: header.n_quantizers]],
        "token_file_mb": round(tok.stat().st_size / 2**20, 2),
        "causal_streaming": _streams(codec),
    }
    if args.decode:
        base = _status("VmRSS")
        _reset_peak()
        t0 = time.perf_counter()
        codec.detokenize_to_file(tok, wav)
        row["decode_s"] = round(time.perf_counter() - t0, 2)
        row["decode_rtf"] = round(row["decode_s"] / seconds, 4)
        row["decode_peak_mb"] = round(_status("VmHWM") - base, 1)
    print(json.dumps(row))


def _streams(codec) -> bool:
    """Whether the model's encoder streams exactly (carried state) rather than by overlap-save."""
    from codeckit.nn.streaming import streams_exactly

    return streams_exactly(codec.codec.encoder)


def model_dir(spec: str, root: Path) -> Path:
    """A model directory as given, or a random-init one saved from the shipped config `spec`."""
    if Path(spec).is_dir():
        return Path(spec)
    import torch

    from codeckit.codecs import build_codec, save_codec
    from codeckit.configs import model_config

    torch.manual_seed(0)
    return save_codec(build_codec(model_config(spec)["model"]), root / spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["snac_tiny"], help="model directories or shipped config names")
    p.add_argument("--minutes", type=float, nargs="+", default=[60.0], help="test file lengths (default 60)")
    p.add_argument("--file-sr", type=int, default=16000, help="sample rate of the test file (default 16000)")
    p.add_argument("--chunk-seconds", type=float, default=20.0)
    p.add_argument("--context-seconds", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--decode", action="store_true", help="also decode the tokens back to a wav file")
    p.add_argument("--workdir", default=None, help="where to put the test file (default: a temporary folder)")
    p.add_argument("--out", default="long_audio.json", help="JSON results (default long_audio.json)")
    p.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--name", help=argparse.SUPPRESS)
    p.add_argument("--file", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._child:
        return child(args)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = []
        for minutes in args.minutes:
            audio = work / f"long_{minutes:g}min_{args.file_sr}.wav"
            if not audio.is_file():
                write_long_file(audio, minutes, args.file_sr)
            for spec in args.models:
                mdir = model_dir(spec, work / "models")
                cmd = [sys.executable, __file__, "--_child", "--model", str(mdir), "--name", spec, "--file", str(audio)]
                cmd += ["--workdir", str(work), "--threads", str(args.threads)]
                cmd += ["--chunk-seconds", str(args.chunk_seconds), "--context-seconds", str(args.context_seconds)]
                cmd += ["--decode"] if args.decode else []
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode:
                    sys.exit(f"{spec}: measurement failed:\n{res.stderr[-3000:]}")
                rows.append(json.loads(res.stdout.strip().splitlines()[-1]))

    cols = ["model", "audio_minutes", "audio_mb", "encode_s", "encode_rtf", "peak_mb", "causal_streaming"]
    if args.decode:
        cols += ["decode_s", "decode_rtf", "decode_peak_mb"]
    from codeckit.bench.table import print_records
    from codeckit.fileio import write_text_atomic

    print_records(rows, cols)
    settings = {k: getattr(args, k) for k in ("minutes", "file_sr", "chunk_seconds", "context_seconds", "threads")}
    write_text_atomic(args.out, json.dumps({"settings": settings, "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
