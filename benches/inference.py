"""Inference bench: real-time factor and per-chunk latency of PyTorch eager, onnxruntime offline and
onnxruntime streaming, at 1 and 2 threads, beside the reference `snac` package on the same weights.

For each config (default: `snac_24khz`, `encodec_24khz` at 8 levels = 6 kbps, causal, and the frame-rate vocos
codec of egs/synth_speech/codec/conf/cpu.yaml; a config is a shipped name or a recipe YAML), random weights:
- `pytorch`: codeckit's `Codec.encode` / `decode` on the whole signal under `torch.inference_mode` (torch
  threads = T);
- `pytorch stream` (causal only): `with codec.streaming(1)`, chunk by chunk;
- `ort offline`: `encoder.onnx` / `decoder.onnx` through `codeckit.export.runner.OnnxCodec` (threads = T);
  `ort offline fp16` / `int8`: the same graphs converted by `codeckit.export.precision` (int8: dynamic);
- `ort stream`: the runner's streaming sessions, pushing one chunk at a time and decoding its codes at once:
  exact step graphs for causal codecs, lookahead step graphs for SNAC (each layer caches its context; exact,
  late by the graphs' delay), and a row of overlap-save with a short context (approximate, less latency);
- `snac (reference)`: `snac.SNAC` holding the same weights (mapped with `codeckit.convert.snac`), PyTorch.
Columns: RTF = wall time / audio duration (lower is faster; encode, decode, and both), chunk_ms = median
and p95 wall time to encode + decode one chunk, latency_ms = algorithmic latency (chunk + lookahead or
delay), snr_db = streamed (or reduced-precision) audio against the offline fp32 decode of the same codes,
same_codes = the row's codes equal the reference package's (pytorch) or fp32's share of equal codes
(precision rows), encode_x_ref / decode_x_ref = the reference package's time / this row's at the same
threads, x_fp32 = fp32 ORT decode time / this row's. The exported SNAC decoder has its NoiseBlocks off; the
PyTorch rows (codeckit and reference) draw noise.

    python benches/inference.py [--configs snac_24khz encodec_24khz egs/synth_speech/codec/conf/cpu.yaml]
        [--seconds 10] [--threads 1 2] [--precisions fp32 fp16 int8] [--out benches/results/inference.json]
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
from codeckit.config import read_yaml
from codeckit.configs import model_config
from codeckit.export.exporter import export_codec
from codeckit.export.precision import convert_precision
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


def load_model(name: str) -> tuple[str, dict]:
    """(row label, model section) of a shipped config name or a recipe YAML path."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        return f"{path.resolve().parts[-4]}/{path.stem}", read_yaml(path)["model"]
    return name, model_config(name)["model"]


def snac_reference(model: dict):
    """A random-init `snac.SNAC` for a SNAC model section and the codeckit codec holding the same weights."""
    import snac

    from codeckit.convert.snac import map_snac_state

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


COLUMNS = ["config", "impl", "threads", "encode_rtf", "decode_rtf", "rtf", "chunk_ms", "chunk_ms_p95", "latency_ms",
           "snr_db", "same_codes", "encode_x_ref", "decode_x_ref", "x_fp32"]  # fmt: skip


def _row(name, impl, threads, seconds, enc=None, dec=None, chunk_times=None, latency=None, snr=None) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(config=name, impl=impl, threads=threads)
    if enc is not None:
        row["encode_rtf"] = round(enc / seconds, 4)
    if dec is not None:
        row["decode_rtf"] = round(dec / seconds, 4)
    if enc is not None and dec is not None:
        row["rtf"] = round((enc + dec) / seconds, 4)
    if latency is not None:
        row["latency_ms"] = round(latency, 1)
    if snr is not None:
        row["snr_db"] = _fmt_snr(snr)
    if chunk_times:
        ms = sorted(1000 * t for t in chunk_times)
        row["chunk_ms"] = round(statistics.median(ms), 3)
        row["chunk_ms_p95"] = round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 3)
        row["rtf"] = round(sum(chunk_times) / seconds, 4)
    return row


def bench_config(name: str, args: argparse.Namespace, tmp: Path) -> list[dict]:
    torch.manual_seed(0)
    label, model = load_model(name)
    ref = None
    if model["encoder"]["name"] == "snac" and not model["encoder"].get("causal"):
        ref, codec = snac_reference(model)
    else:
        codec = build_codec(copy.deepcopy(model)).eval()
    n = min(args.encodec_levels, codec.n_levels) if name.startswith("encodec") else codec.n_levels
    out = tmp / label.replace("/", "_")
    torch.set_num_threads(1)
    export_codec(codec, out / "fp32", chunk_frames=CHUNK_FRAMES.get(name), n_quantizers=n)
    for p in args.precisions:
        if p != "fp32":
            convert_precision(out / "fp32", out / p, p)
    sr = codec.sample_rate
    audio = (np.random.default_rng(0).standard_normal((1, codec.channels, int(args.seconds * sr))) * 0.1).astype(
        np.float32
    )
    rows = []
    for threads in args.threads:
        rows += bench_threads(label, codec, ref, n, out, audio, threads, args)
    return rows


def pytorch_rows(name, codec, ref, n, x, threads, args) -> list[dict]:
    """codeckit's PyTorch codec and, for SNAC, the reference package on the same weights and audio."""
    with torch.inference_mode():
        codes = codec.encode(x, n)
        enc = median_time(lambda: codec.encode(x, n), args.repeats)
        dec = median_time(lambda: codec.decode(codes), args.repeats)
    rows = [_row(name, "pytorch", threads, args.seconds, enc, dec)]
    if ref is None:
        return rows
    with torch.inference_mode():
        ref_codes = ref.encode(x)
        ref_enc = median_time(lambda: ref.encode(x), args.repeats)
        ref_dec = median_time(lambda: ref.decode(ref_codes), args.repeats)
    rows[0]["same_codes"] = all(torch.equal(a, b) for a, b in zip(codes, ref_codes))
    rows[0]["encode_x_ref"], rows[0]["decode_x_ref"] = round(ref_enc / enc, 2), round(ref_dec / dec, 2)
    rows.append(_row(name, "snac (reference)", threads, args.seconds, ref_enc, ref_dec))
    rows[-1]["_ref_dec"] = ref_dec
    return rows


def ort_offline_rows(name, out: Path, audio, threads, args) -> tuple[list[dict], OnnxCodec, list, np.ndarray]:
    """The offline graphs at each precision: RTF, and codes / audio against fp32's."""
    rows, base = [], None
    for p in args.precisions:
        runner = OnnxCodec(out / p, threads=threads)
        codes = runner.encode(audio)
        enc = median_time(lambda r=runner: r.encode(audio), args.repeats)
        if base is None:
            base = (runner, codes, runner.decode(codes))
        dec = median_time(lambda r=runner, c=base[1]: r.decode(c), args.repeats)
        row = _row(name, "ort offline" if p == "fp32" else f"ort offline {p}", threads, args.seconds, enc, dec)
        if p != "fp32":
            row["snr_db"] = _fmt_snr(snr_db(base[2], runner.decode(base[1])))
            row["same_codes"] = round(float(np.mean([(a == b).mean() for a, b in zip(codes, base[1])])), 4)
            row["x_fp32"] = round(rows[0]["decode_rtf"] / row["decode_rtf"], 2)
        rows.append(row)
    return rows, base[0], base[1], base[2]


def bench_threads(name, codec, ref, n: int, out: Path, audio: np.ndarray, threads: int, args) -> list[dict]:
    """The rows of one config at one thread count."""
    torch.set_num_threads(threads)
    rows = pytorch_rows(name, codec, ref, n, torch.from_numpy(audio), threads, args)
    ort_rows, runner, _, offline_audio = ort_offline_rows(name, out, audio, threads, args)
    rows += ort_rows
    if runner.causal:
        rows.append(pytorch_stream_row(name, codec, n, runner, audio, threads, args))
    contexts = [None] if runner.causal else [None, args.short_context_groups * runner.pad_multiple]
    for context in contexts:
        rows.append(ort_stream_row(name, runner, audio, offline_audio, context, threads, args))
    ref_dec = next((r.pop("_ref_dec") for r in rows if "_ref_dec" in r), None)
    if ref_dec is not None:
        for r in rows:
            if r["impl"].startswith("ort offline"):
                r["decode_x_ref"] = round(ref_dec / (r["decode_rtf"] * args.seconds), 2)
    return rows


def pytorch_stream_row(name, codec, n: int, runner: OnnxCodec, audio, threads: int, args) -> dict:
    """A causal codec streamed in PyTorch (`codec.streaming`), against its offline decode."""
    chunk, sr = runner.chunk_samples, runner.sample_rate
    first = runner.graph("encoder_step").meta["streaming"]["first_chunk_samples"]
    first = -(-max(first, chunk) // chunk) * chunk
    with torch.inference_mode():
        offline = codec.decode(codec.encode(torch.from_numpy(audio), n)).numpy()
        with codec.streaming(1):
            streamed, times = stream_pass(
                lambda a: codec.encode(torch.from_numpy(a), n), lambda c: codec.decode(c).numpy(), list, audio,
                first, chunk,
            )  # fmt: skip
    row = _row(name, "pytorch stream", threads, args.seconds, chunk_times=times, latency=1000 * chunk / sr)
    row["snr_db"] = _fmt_snr(snr_db(offline, streamed[..., : offline.shape[-1]]))
    return row


def ort_stream_row(name, runner: OnnxCodec, audio, offline_audio, context, threads: int, args) -> dict:
    """The runner's streams (step graphs, lookahead step graphs, or overlap-save with `context`)."""
    chunk, sr = runner.chunk_samples, runner.sample_rate
    e = runner.stream_encoder(1, chunk, context)
    d = runner.stream_decoder(1, chunk, context)
    first = getattr(e, "first", chunk)
    streamed, times = stream_pass(e.push, d.push, lambda: [d.push(e.flush()), d.flush()], audio, first, chunk)
    if runner.causal:
        label, lookahead = "ort stream", 0
    elif context is None and runner.lookahead:
        label, lookahead = "ort stream (lookahead, exact)", e.delay + d.delay
    else:
        label, lookahead = f"ort stream (overlap, context {1000 * e.context / sr:.0f} ms)", e.context
    row = _row(name, label, threads, args.seconds, chunk_times=times, latency=1000 * (chunk + lookahead) / sr)
    row["snr_db"] = _fmt_snr(snr_db(offline_audio, streamed[..., : offline_audio.shape[-1]]))
    return row


def _fmt_snr(v: float):
    return round(v, 2) if math.isfinite(v) else "inf"


def goals(rows: list[dict]) -> dict:
    """The issue's targets, read off the rows."""
    out = {}
    for r in rows:
        cfg, t = r["config"], r["threads"]
        if r["impl"] == "pytorch" and r["decode_x_ref"] is not None:
            ok = r["encode_x_ref"] >= 1 / 0.9 and r["decode_x_ref"] >= 1 / 0.9 and r["same_codes"]
            out[f"{cfg} pytorch encode and decode <= 0.9x the reference's time, same codes, {t} thread(s)"] = ok
        if r["impl"].startswith("ort stream (lookahead") and t == 1:
            snr = math.inf if r["snr_db"] == "inf" else r["snr_db"]
            out[f"{cfg} ort stream RTF <= 0.5 and >= 40 dB SNR on 1 thread (latency {r['latency_ms']} ms)"] = (
                r["rtf"] <= 0.5 and snr >= 40
            )
        if r["impl"] == "ort stream" and t == 1 and cfg.startswith("encodec"):
            out[f"{cfg} ort stream <= 40 ms latency and faster than real time on 1 thread"] = (
                r["latency_ms"] <= 40 and r["rtf"] < 1
            )
        if r["impl"] == "ort offline int8" and t == 1:
            out[f"{cfg} int8 ORT decoder >= 1.5x fp32 on 1 thread"] = r["x_fp32"] >= 1.5
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--configs",
        nargs="+",
        default=["snac_24khz", "encodec_24khz", "egs/synth_speech/codec/conf/cpu.yaml"],
        help="shipped config names or recipe YAMLs (their model section)",
    )
    p.add_argument("--seconds", type=float, default=10.0, help="audio length timed")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per offline measurement (median)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts (torch and onnxruntime)")
    p.add_argument("--precisions", nargs="+", default=["fp32", "fp16", "int8"], help="ORT offline graph precisions")
    p.add_argument("--encodec-levels", type=int, default=8, help="RVQ levels kept for EnCodec configs (8 = 6 kbps)")
    p.add_argument(
        "--short-context-groups", type=int, default=1, help="overlap context of the extra non-causal stream row"
    )
    p.add_argument("--out", default="benches/results/inference.json", help="JSON file to write")
    args = p.parse_args(argv)
    if args.precisions[0] != "fp32":
        p.error("--precisions must start with fp32 (the others are compared with it)")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            rows += bench_config(name, args, Path(tmp))
    print_records(rows, COLUMNS)
    met = goals(rows)
    for k, v in met.items():
        print(f"{'MET ' if v else 'MISSED'}  {k}")
    meta = {
        "seconds": args.seconds,
        "repeats": args.repeats,
        "threads": args.threads,
        "precisions": args.precisions,
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
