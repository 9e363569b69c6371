"""Inference bench: real-time factor and per-chunk latency of PyTorch eager, onnxruntime offline and
onnxruntime streaming, at 1 and 2 threads, beside the reference `snac` package on the same weights.

For each config (default: `snac_24khz`, and `encodec_24khz` at 8 levels = 6 kbps, causal), random weights:
- `pytorch`: codeckit's `Codec.encode` / `decode` on the whole signal (torch threads = T);
- `pytorch stream` (causal only): `with codec.streaming(1)`, chunk by chunk;
- `ort offline`: `encoder.onnx` / `decoder.onnx` through `codeckit.export.runner.OnnxCodec` (threads = T);
- `ort stream`: the runner's streaming sessions, pushing one chunk at a time and decoding its codes at once:
  exact step graphs for causal codecs, overlap-save with the declared receptive-field context otherwise
  (and a row with a shorter context, to show what the lookahead buys);
- `snac (reference)`: `snac.SNAC` holding the same weights (mapped with `codeckit.convert.snac`), PyTorch.
Columns: RTF = wall time / audio duration (lower is faster; encode, decode, and both), chunk_ms = median
and p95 wall time to encode + decode one chunk, latency_ms = algorithmic latency (chunk + lookahead),
snr_db = streamed audio against the offline decode of the offline codes (same implementation), and
decode_x_ref = the reference package's decode time / this row's at the same threads. The exported SNAC
decoder has its NoiseBlocks off; the PyTorch rows (codeckit and reference) draw noise.

    python benches/inference.py [--configs snac_24khz encodec_24khz] [--seconds 10] [--threads 1 2]
        [--out benches/results/inference.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from codeckit.bench.table import print_records
from codeckit.codecs import build_codec
from codeckit.configs import model_config
from codeckit.export.exporter import export_codec
from codeckit.export.runner import OnnxCodec
from codeckit.fileio import write_text_atomic

CHUNK_FRAMES = {"encodec_24khz": 2, "encodec_tiny": 1}  # 26.7 ms and 20 ms steps for the causal configs


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of `fn` over `repeats` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    err = float(((ref - est) ** 2).sum())
    return math.inf if err == 0 else 10 * math.log10(float((ref**2).sum()) / err)


def snac_reference(name: str):
    """A random-init `snac.SNAC` for a SNAC config and the codeckit codec holding the same weights."""
    import snac

    from codeckit.convert.snac import map_snac_state

    model = model_config(name)["model"]
    enc, dec, q = model["encoder"], model["decoder"], model["quantizer"]
    ref = snac.SNAC(
        sampling_rate=model["sample_rate"],
        encoder_dim=enc["dim"],
        encoder_rates=enc["rates"],
        decoder_dim=dec["dim"],
        decoder_rates=dec["rates"],
        attn_window_size=enc["attn_window"],
        codebook_size=q["level"]["codebook_size"],
        codebook_dim=q["level"]["codebook_dim"],
        vq_strides=q["strides"],
        noise=dec["noise"],
        depthwise=enc["depthwise"],
    ).eval()
    codec = build_codec(copy.deepcopy(model)).eval()
    codec.load_state_dict(map_snac_state(ref.state_dict(), codec.state_dict()))
    return ref, codec


def stream_pass(push_enc, push_dec, finish, audio, first: int, chunk: int):
    """Push `audio` chunk by chunk through an encoder then a decoder; (audio out, per-chunk seconds).

    `finish()` returns the audio pieces still held at the end (flushes)."""
    times, pieces, pos = [], [], 0
    while pos < audio.shape[-1]:
        n = first if pos == 0 else chunk
        t0 = time.perf_counter()
        pieces.append(push_dec(push_enc(audio[..., pos : pos + n])))
        times.append(time.perf_counter() - t0)
        pos += n
    pieces += finish()
    return np.concatenate(pieces, axis=-1), times


def _row(name, impl, threads, seconds, enc=None, dec=None, chunk_times=None, latency=None, snr=None) -> dict:
    row = {
        "config": name,
        "impl": impl,
        "threads": threads,
        "encode_rtf": None if enc is None else round(enc / seconds, 4),
        "decode_rtf": None if dec is None else round(dec / seconds, 4),
        "rtf": None if enc is None or dec is None else round((enc + dec) / seconds, 4),
        "chunk_ms": None,
        "chunk_ms_p95": None,
        "latency_ms": None if latency is None else round(latency, 1),
        "snr_db": None if snr is None else _fmt_snr(snr),
        "decode_x_ref": None,
    }
    if chunk_times:
        ms = sorted(1000 * t for t in chunk_times)
        row["chunk_ms"] = round(statistics.median(ms), 3)
        row["chunk_ms_p95"] = round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3)
    return row


def bench_config(name: str, args: argparse.Namespace, tmp: Path) -> list[dict]:
    torch.manual_seed(0)
    ref = None
    if name.startswith("snac_"):
        ref, codec = snac_reference(name)
    else:
        codec = build_codec(model_config(name)["model"]).eval()
    n = min(args.encodec_levels, codec.n_levels) if name.startswith("encodec") else codec.n_levels
    out = tmp / name
    torch.set_num_threads(1)
    export_codec(codec, out, chunk_frames=CHUNK_FRAMES.get(name), n_quantizers=n)
    sr = codec.sample_rate
    audio = (np.random.default_rng(0).standard_normal((1, codec.channels, int(args.seconds * sr))) * 0.1).astype(
        np.float32
    )
    return [row for threads in args.threads for row in bench_threads(name, codec, ref, n, out, audio, threads, args)]


def bench_threads(name, codec, ref, n: int, out: Path, audio: np.ndarray, threads: int, args) -> list[dict]:
    """The rows of one config at one thread count."""
    sr = codec.sample_rate
    x = torch.from_numpy(audio)
    rows = []
    torch.set_num_threads(threads)
    runner = OnnxCodec(out, threads=threads)
    with torch.no_grad():
        codes = codec.encode(x, n)
        enc = median_time(lambda: codec.encode(x, n), args.repeats)
        dec = median_time(lambda: codec.decode(codes), args.repeats)
    rows.append(_row(name, "pytorch", threads, args.seconds, enc, dec))
    decode_s = {"pytorch": dec}
    ref_dec = None
    if ref is not None:
        with torch.no_grad():
            ref_codes = ref.encode(x)
            enc = median_time(lambda: ref.encode(x), args.repeats)
            ref_dec = median_time(lambda: ref.decode(ref_codes), args.repeats)
        rows.append(_row(name, "snac (reference)", threads, args.seconds, enc, ref_dec))
    ort_codes = runner.encode(audio)
    offline_audio = runner.decode(ort_codes)
    enc = median_time(lambda: runner.encode(audio), args.repeats)
    dec = median_time(lambda: runner.decode(ort_codes), args.repeats)
    rows.append(_row(name, "ort offline", threads, args.seconds, enc, dec))
    decode_s["ort offline"] = dec
    chunk = runner.chunk_samples
    if runner.causal:
        first = runner.graph("encoder_step").meta["streaming"]["first_chunk_samples"]
        first = -(-max(first, chunk) // chunk) * chunk
        with torch.no_grad(), codec.streaming(1):
            torch_audio, times = stream_pass(
                lambda a: codec.encode(torch.from_numpy(a), n),
                lambda c: codec.decode(c).numpy(),
                lambda: [],
                audio,
                first,
                chunk,
            )
        with torch.no_grad():
            torch_offline = codec.decode(codes).numpy()
        total = sum(times)
        row = _row(name, "pytorch stream", threads, args.seconds, chunk_times=times, latency=1000 * chunk / sr)
        row["rtf"] = round(total / args.seconds, 4)
        row["snr_db"] = _fmt_snr(snr_db(torch_offline, torch_audio[..., : torch_offline.shape[-1]]))
        rows.append(row)
        contexts = [None]
    else:
        contexts = [None, args.short_context_groups * runner.pad_multiple]
    for context in contexts:
        e = runner.stream_encoder(1, chunk, context)
        d = runner.stream_decoder(1, chunk, context)
        first = getattr(e, "first", chunk)
        streamed, times = stream_pass(
            e.push, d.push, lambda e=e, d=d: [d.push(e.flush()), d.flush()], audio, first, chunk
        )
        lookahead = 0 if runner.causal else e.context
        label = "ort stream" if context is None else f"ort stream (context {1000 * context / sr:.0f} ms)"
        row = _row(name, label, threads, args.seconds, chunk_times=times, latency=1000 * (chunk + lookahead) / sr)
        row["rtf"] = round(sum(times) / args.seconds, 4)
        row["snr_db"] = _fmt_snr(snr_db(offline_audio, streamed[..., : offline_audio.shape[-1]]))
        rows.append(row)
    if ref_dec is not None:
        for r in rows:
            if r["threads"] == threads and r["impl"] in decode_s:
                r["decode_x_ref"] = round(ref_dec / decode_s[r["impl"]], 2)
    return rows


def _fmt_snr(v: float):
    return round(v, 2) if math.isfinite(v) else "inf"


def goals(rows: list[dict]) -> dict:
    """The issue's two targets, read off the rows."""
    out = {}
    for r in rows:
        if r["impl"] == "ort offline" and r["decode_x_ref"] is not None:
            out[f"{r['config']} ort decode >= 2x reference at {r['threads']} thread(s)"] = r["decode_x_ref"] >= 2
        if r["impl"] == "ort stream" and r["threads"] == 1 and r["config"].startswith("encodec"):
            out[f"{r['config']} ort stream <= 40 ms latency and faster than real time on 1 thread"] = (
                r["latency_ms"] <= 40 and r["rtf"] < 1
            )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["snac_24khz", "encodec_24khz"], help="shipped config names")
    p.add_argument("--seconds", type=float, default=10.0, help="audio length timed")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per offline measurement (median)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (torch and onnxruntime)")
    p.add_argument("--encodec-levels", type=int, default=8, help="RVQ levels kept for EnCodec configs (8 = 6 kbps)")
    p.add_argument(
        "--short-context-groups", type=int, default=1, help="overlap context of the extra non-causal stream row"
    )
    p.add_argument("--out", default="benches/results/inference.json", help="JSON file to write")
    args = p.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            rows += bench_config(name, args, Path(tmp))
    print_records(rows, list(rows[0]))
    met = goals(rows)
    for k, v in met.items():
        print(f"{'MET ' if v else 'MISSED'}  {k}")
    meta = {
        "seconds": args.seconds,
        "repeats": args.repeats,
        "threads": args.threads,
        "encodec_levels": args.encodec_levels,
        "chunk_frames": CHUNK_FRAMES,
        "weights": "random init (seed 0); noise input at 0.1 std",
        "rtf": "wall time / audio duration, lower is faster; stream rows: sum of per-chunk push times",
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": sys.version.split()[0],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps({"meta": meta, "rows": rows, "goals": met}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
