"""LM streaming bench: decode a speech LM's id stream to audio as it is generated, PyTorch and ONNX runners.

Codes come from encoding a synthetic test signal (a wandering tone plus noise) with the model; they are laid
out for the LM (`--layout`, default `orpheus` for SNAC 24 kHz) and pushed one LM step at a time, as an LM
emits them. Rows, for each runner (PyTorch `Codec`; the torch-free onnxruntime `OnnxCodec`):

- `offline`: one decode of all codes (the reference of the other rows);
- `orpheus ref`: Orpheus's own scheme (orpheus_tts/decoder.py `tokens_decoder`): on every new frame from the
  4th, decode the last 4 frames and keep samples 2048..4096 (one group of context, two of lookahead); it
  never plays the first frame nor the last two, so its SNR covers the frames it plays;
- `lmstream`: `codeckit.tokens.lmstream.LMStreamDecoder` at each `--lookaheads` (and `--crossfade`), whole signal.

Columns: latency_ms = algorithmic latency (one codec group, which the LM must finish before any of it can
play, plus the lookahead held back), chunk_ms = mean / max wall time of a push that returned audio, rtf =
total push time / audio duration, snr_db = against the same runner's offline decode, covered = share of the
signal returned. Decoder NoiseBlocks are off in both runners (ONNX exports leave them out). A `--causal` codec
(default `encodec_tiny`, `moshi` layout) adds exact-streaming rows with max_abs_diff against offline.

Models are model directories (their `decoder.onnx` is used when present) or shipped config names, built with
random weights (`torch.manual_seed(0)`): those time the same but their audio means nothing.

    python benches/lm_streaming.py [--model snac_24khz] [--seconds 4] [--lookaheads 1024 2048] [--threads 1]
        [--out benches/results/lm_streaming.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codeckit.bench.table import print_records
from codeckit.tokens import layout
from codeckit.tokens.backends import OnnxBackend, TorchBackend
from codeckit.tokens.lmstream import LMStreamDecoder


def load_model(spec: str) -> tuple[Any, str]:
    """A codec from a model directory, or a random-init one from the shipped config `spec`; and its origin."""
    from codeckit.codecs import build_codec, load_codec
    from codeckit.configs import model_config

    if Path(spec).is_dir():
        return load_codec(spec), "weights from " + spec
    torch.manual_seed(0)
    return build_codec(model_config(spec)["model"]).eval(), "random init"


def onnx_backend(codec: Any, spec: str, given: str | None, work: Path, threads: int) -> OnnxBackend:
    """The ONNX runner of `codec`: `given`, else the model directory's export, else a fresh export into `work`."""
    from codeckit.export.exporter import export_codec

    for d in (given, spec):
        if d and (Path(d) / "decoder.onnx").is_file():
            return OnnxBackend(d, threads=threads)
    out = work / "onnx"
    export_codec(codec, out)
    return OnnxBackend(out, threads=threads)


def test_codes(codec: Any, seconds: float) -> list[torch.Tensor]:
    """Codes of a synthetic signal `seconds` long, one 1-D tensor per level."""
    sr = codec.sample_rate
    t = np.arange(int(seconds * sr)) / sr
    x = 0.4 * np.sin(2 * np.pi * np.cumsum(150 + 100 * np.sin(2 * np.pi * t / 3)) / sr)
    x = x + 0.02 * np.random.default_rng(0).standard_normal(len(t))
    audio = torch.from_numpy(x.astype(np.float32))[None, None].repeat(1, codec.channels, 1)
    with torch.inference_mode():
        return [c[0] for c in codec.encode(audio)]


def steps(ids: torch.Tensor) -> list[torch.Tensor]:
    """The LM's steps: one id (flat layouts) or one column of ids (parallel streams)."""
    return list(ids) if ids.dim() == 1 else list(ids.T)


def snr_db(est: np.ndarray, ref: np.ndarray) -> float:
    err = float(((est - ref) ** 2).sum())
    return round(10 * np.log10(float((ref**2).sum()) / err), 1) if err > 0 else float("inf")


def timed_stream(dec: LMStreamDecoder, ids: torch.Tensor) -> tuple[np.ndarray, list[float], float]:
    """Push step by step, then flush: the audio, the wall time of each push that returned audio, the total."""
    out, chunks, total = [], [], 0.0
    for step in steps(ids) + [None]:
        t0 = time.perf_counter()
        audio = dec.flush() if step is None else dec.push(step)
        dt = time.perf_counter() - t0
        out.append(audio)
        total += dt
        if audio.shape[-1]:
            chunks.append(dt)
    return np.concatenate(out, axis=-1), chunks, total


def orpheus_reference(backend: Any, codes: list[torch.Tensor], ratios: tuple[int, ...]) -> tuple[np.ndarray, list]:
    """Orpheus's scheme over whole groups: when frame n >= 3 completes, decode n-3..n, keep the second group."""
    g, frames = backend.pad_multiple, len(codes[0])
    out, times = [], []
    for n in range(3, frames):
        window = [c[None, (n - 3) * r : (n + 1) * r].numpy() for c, r in zip(codes, ratios)]
        t0 = time.perf_counter()
        out.append(backend.decode(window)[:, g : 2 * g])
        times.append(time.perf_counter() - t0)
    return np.concatenate(out, axis=-1), times


def row(runner: str, scheme: str, sr: int, audio_s: float, times: list[float], total: float, **extra: Any) -> dict:
    """One table row: settings in ms, scores, chunk wall times (mean / max) and the real-time factor."""
    ms = 1000 / sr
    r = {"runner": runner, "scheme": scheme}
    for k in ("lookahead", "context", "crossfade", "latency"):
        if k in extra:
            r[f"{k}_ms"] = round(extra.pop(k) * ms, 1)
    r.update(extra)
    r["chunk_ms"] = f"{1000 * np.mean(times):.0f} / {1000 * max(times):.0f}"
    r["rtf"] = round(total / audio_s, 3)
    return r


def bench_noncausal(backend: Any, lay: Any, codes: list[torch.Tensor], args: argparse.Namespace) -> list[dict]:
    """Offline, Orpheus's scheme and LMStreamDecoder rows for one runner."""
    sr, g = backend.sample_rate, backend.pad_multiple
    t0 = time.perf_counter()
    ref = backend.decode([c[None].numpy() for c in codes])
    audio_s = ref.shape[-1] / sr
    t = time.perf_counter() - t0
    rows = [row(backend.name, "offline", sr, audio_s, [t], t, snr_db="ref", covered=1.0)]
    got, times = orpheus_reference(backend, codes, lay.ratios)
    n = len(codes[0])
    score = {"snr_db": snr_db(got, ref[:, g : (n - 2) * g]), "covered": round(got.shape[-1] / ref.shape[-1], 3)}
    rows.append(
        row(
            backend.name,
            "orpheus ref",
            sr,
            audio_s,
            times,
            sum(times),
            lookahead=2 * g,
            context=g,
            latency=3 * g,
            **score,
        )
    )
    ids = lay.encode(codes)
    for la in args.lookaheads:
        for xf in sorted({0, min(args.crossfade, la)}):
            dec = LMStreamDecoder(backend, lay, lookahead=la, context=args.context, crossfade=xf)
            got, times, total = timed_stream(dec, ids)
            shape = {"lookahead": la, "context": dec.context, "crossfade": xf, "latency": dec.latency_samples}
            score = {"snr_db": snr_db(got, ref), "covered": round(got.shape[-1] / ref.shape[-1], 3)}
            rows.append(row(backend.name, "lmstream", sr, audio_s, times, total, **shape, **score))
    return rows


def bench_causal(backend: Any, lay: Any, codes: list[torch.Tensor]) -> dict:
    """An exact-streaming row: max |streamed - offline| for a causal codec."""
    ref = backend.decode([c[None].numpy() for c in codes])
    dec = LMStreamDecoder(backend, lay)
    got, times, total = timed_stream(dec, lay.encode(codes))
    diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("nan")
    score = {"max_abs_diff": f"{diff:.1e}", "covered": round(got.shape[-1] / ref.shape[-1], 3)}
    audio_s = ref.shape[-1] / backend.sample_rate
    return row(
        backend.name,
        "lmstream causal",
        backend.sample_rate,
        audio_s,
        times,
        total,
        latency=dec.latency_samples,
        **score,
    )


def print_table(rows: list[dict]) -> None:
    """The rows under the columns any of them has, in a fixed order."""
    names = ["model", "runner", "scheme", "lookahead_ms", "context_ms", "crossfade_ms", "latency_ms"]
    names += ["snr_db", "max_abs_diff", "covered", "chunk_ms", "rtf"]
    print_records(rows, [c for c in names if any(c in r for r in rows)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="snac_24khz", help="model directory or shipped config (default snac_24khz)")
    p.add_argument("--onnx", default=None, help="an export of --model (default: its decoder.onnx, else export now)")
    p.add_argument("--layout", default="orpheus", help="LM layout preset (default orpheus)")
    p.add_argument("--seconds", type=float, default=4.0, help="test signal length (default 4)")
    p.add_argument("--lookaheads", type=int, nargs="+", default=[1024, 2048], help="samples (default 1024 2048)")
    p.add_argument("--context", type=int, default=None, help="left context samples (default 2 codec groups)")
    p.add_argument("--crossfade", type=int, default=256, help="also run each lookahead with this crossfade")
    p.add_argument("--causal", default="encodec_tiny", help="causal model for exact rows ('' to skip)")
    p.add_argument("--causal-layout", default="moshi", help="its layout preset (default moshi, sized to it)")
    p.add_argument("--threads", type=int, default=1, help="torch and onnxruntime threads (default 1)")
    p.add_argument("--out", default="lm_streaming.json", help="JSON results (default lm_streaming.json)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        codec, origin = load_model(args.model)
        lay, codes = layout(args.layout), test_codes(codec, args.seconds)
        for backend in (TorchBackend(codec), onnx_backend(codec, args.model, args.onnx, Path(tmp), args.threads)):
            rows += [{"model": args.model, **r} for r in bench_noncausal(backend, lay, codes, args)]
        if args.causal:
            causal, _ = load_model(args.causal)
            sizes = (
                {"n_q": causal.n_levels, "card": max(causal.codebook_sizes)} if args.causal_layout == "moshi" else {}
            )
            clay, ccodes = layout(args.causal_layout, **sizes), test_codes(causal, args.seconds)
            for backend in (
                TorchBackend(causal),
                onnx_backend(causal, args.causal, None, Path(tmp) / "c", args.threads),
            ):
                rows.append({"model": args.causal, **bench_causal(backend, clay, ccodes)})
    print_table(rows)
    settings = {
        k: getattr(args, k) for k in ("model", "layout", "seconds", "lookaheads", "crossfade", "causal", "threads")
    }
    settings["weights"] = origin
    from codeckit.fileio import write_text_atomic

    write_text_atomic(args.out, json.dumps({"settings": settings, "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
