"""Compression bench: bits per second of a trained codec's test tokens under fixed-width packing, unigram
entropy, xz, and each context model variant as real `.ckc` bytes; fit on the train tokens, measured on test.

Rows (bits per second of test audio):
- `nominal`: the codec's declared rate, sum_l frame_rate_l * log2(codebook_l);
- `fixed width`: the tokens packed at ceil(log2 codebook) bits each (the frames a file really holds);
- `unigram entropy (test)`: the leaderboard's effective bitrate, entropy of the test set's own histograms
  (an ideal coder that knew the test set; no file reaches it);
- `xz -9e ...`: Python lzma, preset 9 | extreme, per file (what a file costs) and over the whole set at once,
  on 10-bit packed codes and on int16 codes;
- `ckc <variant>`: context models fit on train. `stream` = the chunk records (payload, lengths, CRC32s; what
  `codeckit.compress.compressed_bits` returns), `file` = whole files (plus header, end record; no source
  path), `ideal` = the model's own code length without chunking or coder overhead. Speeds: tokens <-> bytes
  on one thread, fresh caches, as multiples of real time.
Also the default model end to end (audio -> .ckc -> audio, neural encoder/decoder included) and the chunk
length's cost.

    python benches/compression.py [--model egs/synth_speech/codec/exp/fast/model]
        [--train .../data/train/wav.scp] [--test .../data/test/wav.scp] [--out benches/results/compression.json]
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import codeckit
from codeckit.bench.table import print_table
from codeckit.commands.tokenize import collect_inputs
from codeckit.compress.files import spec_of, write_codes
from codeckit.compress.fit import fit_context_model, ideal_bits
from codeckit.compress.model import ContextConfig
from codeckit.compress.reader import CompressedReader
from codeckit.fileio import write_text_atomic
from codeckit.metrics.entropy import effective_bitrate
from codeckit.tokens.tokenfile import TOKEN_SUFFIX, load_tokens

RECIPE = Path("egs/synth_speech/codec")
CP = [["coarse", "prev"], ["coarse"], ["prev"]]
C2 = [["coarse2", "coarse", "prev"], *CP]
VARIANTS = {  # name: (stages most specific first, buckets)
    "unigram": ([], 1),
    "prev": ([["prev"]], 16384),
    "coarse": ([["coarse"]], 16384),
    "coarse+prev, 256 buckets": (CP, 256),
    "coarse+prev, 1024 buckets": (CP, 1024),
    "coarse+prev, 4096 buckets": (CP, 4096),
    "coarse+prev, 65536 buckets": (CP, 65536),
    "coarse2+coarse+prev, 4096 buckets": (C2, 4096),
    "coarse2+coarse+prev (default)": (C2, 16384),
    "coarse2+coarse+prev, 65536 buckets": (C2, 65536),
}
DEFAULT = "coarse2+coarse+prev (default)"


def tokens_of(codec, scp: Path, work: Path, what: str) -> list:
    """Token files of every utterance in `scp` (made once into `work`, reused after), loaded."""
    out = []
    for key, src in tqdm(collect_inputs([str(scp)], [".wav"]), desc=f"tokens {what}", unit="file"):
        dst = work / what / f"{key}{TOKEN_SUFFIX}"
        if not dst.exists():
            codec.tokenize_to_file(src, dst)
        tf = load_tokens(dst)
        if tf.header.codec_id != codec.identity:
            raise SystemExit(f"{dst} is from another codec; delete {work} and rerun")
        out.append(tf)
    return out


def packed(codes: list[np.ndarray], sizes: list[int]) -> bytes:
    """Codes at ceil(log2 size) bits each, level after level, as bytes."""
    bits = []
    for c, size in zip(codes, sizes):
        w = math.ceil(math.log2(size))
        bits.append(((c[:, None] >> np.arange(w - 1, -1, -1)) & 1).reshape(-1))
    return np.packbits(np.concatenate(bits).astype(np.uint8)).tobytes()


def xz(data: bytes) -> int:
    return len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


def baseline_rows(test: list, codec, seconds: float) -> list[dict]:
    """Nominal, fixed width, unigram entropy and xz rows."""
    sizes = codec.codebook_sizes
    codes = [[c.numpy() for c in tf.codes] for tf in test]
    width = sum(sum(c.shape[0] * math.ceil(math.log2(s)) for c, s in zip(x, sizes)) for x in codes)
    pk = [packed(x, sizes) for x in codes]
    i16 = [b"".join(c.astype("<i2").tobytes() for c in x) for x in codes]
    rows = [
        {"name": "nominal", "bps": codec.bitrate()},
        {"name": "fixed width", "bps": width / seconds},
        {"name": "unigram entropy (test)", "bps": effective_bitrate(codes, sizes, codec.frame_rates)},
        {"name": "xz -9e, packed, per file", "bps": 8 * sum(xz(b) for b in pk) / seconds},
        {"name": "xz -9e, int16, per file", "bps": 8 * sum(xz(b) for b in i16) / seconds},
        {"name": "xz -9e, packed, whole set", "bps": 8 * xz(b"".join(pk)) / seconds},
        {"name": "xz -9e, int16, whole set", "bps": 8 * xz(b"".join(i16)) / seconds},
    ]
    return rows


def code_all(model, items: list, seconds_per_chunk: float) -> tuple[list[bytes], list[int], float]:
    """Every item written as a .ckc stream: (file bytes, chunk-record bytes, wall seconds), fresh caches."""
    model._dist.clear(), model._models.clear()
    files, records = [], []
    t0 = time.perf_counter()
    for x in items:
        buf = io.BytesIO()
        w = write_codes(buf, x, model, seconds_per_chunk=seconds_per_chunk)
        files.append(buf.getvalue())
        records.append(w.payload_bytes)
    return files, records, time.perf_counter() - t0


def decode_all(model, files: list[bytes], items: list) -> float:
    """Wall seconds to decode every file (fresh caches), checking each against its codes."""
    model._dist.clear(), model._models.clear()
    t0 = time.perf_counter()
    decoded = []
    for data in files:
        with CompressedReader(data, model) as r:
            decoded.append(r.read().codes)
    elapsed = time.perf_counter() - t0
    for got, want in zip(decoded, items):
        if not all(np.array_equal(g.numpy(), w) for g, w in zip(got, want)):
            raise SystemExit("decoded codes differ from the originals")
    return elapsed


def variant_row(name, stages, buckets, spec, train, test, seconds, seconds_per_chunk) -> tuple[dict, object]:
    """Fit one variant on train and measure it on test."""
    t0 = time.perf_counter()
    model = fit_context_model(train, spec, ContextConfig(stages=stages, buckets=buckets))
    fit_s = time.perf_counter() - t0
    files, records, enc_s = code_all(model, test, seconds_per_chunk)
    dec_s = decode_all(model, files, test)
    ideal = sum(sum(ideal_bits(model, x)) for x in test)
    size = sum(v.nbytes for v in model.tensors().values())
    row = {
        "name": f"ckc {name}",
        "bps": 8 * sum(records) / seconds,
        "file_bps": 8 * sum(len(f) for f in files) / seconds,
        "ideal_bps": ideal / seconds,
        "encode_x_realtime": seconds / enc_s,
        "decode_x_realtime": seconds / dec_s,
        "fit_seconds": fit_s,
        "entries": model.n_entries(),
        "table_bytes": size,
    }
    return row, model


def _rate(seconds: float, fn) -> tuple[float, list]:
    t0 = time.perf_counter()
    out = fn()
    return seconds / (time.perf_counter() - t0), out


def end_to_end(codec, model, test_files: list[Path], seconds: float) -> dict:
    """Multiples of real time, one thread: audio -> .ckc and .ckc -> audio through the neural codec, and
    its parts (the neural encoder and decoder alone, .ckc -> tokens alone)."""
    codec.context_model = model
    with tempfile.TemporaryDirectory() as tmp:
        out = {}
        out["compress"], paths = _rate(
            seconds, lambda: [codec.compress(f, Path(tmp) / f"{i}.ckc") for i, f in enumerate(test_files)]
        )
        out["decompress"], _ = _rate(seconds, lambda: [codec.decompress(p) for p in paths])
        model._dist.clear(), model._models.clear()  # cold caches, as the coder rows
        out["decompress_tokens"], tokens = _rate(seconds, lambda: [codec.decompress(p, tokens=True) for p in paths])
        out["tokenize"], _ = _rate(seconds, lambda: [codec.tokenize(f) for f in test_files])
        out["detokenize"], _ = _rate(seconds, lambda: [codec.detokenize(t) for t in tokens])
    return {f"{k}_x_realtime": v for k, v in out.items()}


def chunk_rows(model, items: list, seconds: float) -> list[dict]:
    """What the chunk length costs: stream bits per second of the default model per chunk length."""
    out = []
    for spc in (0.5, 1.0, 2.0, 5.0, 30.0):
        _, records, _ = code_all(model, items, spc)
        out.append({"seconds_per_chunk": spc, "bps": 8 * sum(records) / seconds})
    return out


def print_results(rows: list[dict], fixed: float, xz_file: float) -> None:
    """One line per scheme: its bitrate, against the fixed-width codes and xz, and its speed where timed."""
    cells = []
    for r in rows:
        row = [r["name"], f"{r['bps']:.1f}"] + [f"{r[k]:.1f}" if k in r else "" for k in ("file_bps", "ideal_bps")]
        row += [f"{100 * (r['bps'] / fixed - 1):+.1f}%", f"{100 * (r['bps'] / xz_file - 1):+.1f}%"]
        cells.append(row + [f"{r[k]:.0f}" if k in r else "" for k in ("encode_x_realtime", "decode_x_realtime")])
    header = ["", "bps", "file", "ideal", "vs fixed", "vs xz", "enc xRT", "dec xRT"]
    print_table(header, cells, align="<" + ">" * 7)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=RECIPE / "exp/fast/model")
    p.add_argument("--train", type=Path, default=RECIPE / "data/train/wav.scp")
    p.add_argument("--test", type=Path, default=RECIPE / "data/test/wav.scp")
    p.add_argument("--work", type=Path, default=None, help="token cache (default: MODEL/../compress_bench)")
    p.add_argument("--seconds-per-chunk", type=float, default=2.0)
    p.add_argument("--out", type=Path, default=Path("benches/results/compression.json"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    codec = codeckit.load(args.model)
    work = args.work or args.model.parent / "compress_bench"
    train_tf, test_tf = tokens_of(codec, args.train, work, "train"), tokens_of(codec, args.test, work, "test")
    train = [[c.numpy() for c in tf.codes] for tf in train_tf]
    test = [[c.numpy() for c in tf.codes] for tf in test_tf]
    seconds = sum(tf.header.length for tf in test_tf) / codec.sample_rate
    rows = baseline_rows(test_tf, codec, seconds)
    spec, models = spec_of(codec), {}
    for name, (stages, buckets) in tqdm(VARIANTS.items(), desc="variants", unit="model"):
        row, models[name] = variant_row(name, stages, buckets, spec, train, test, seconds, args.seconds_per_chunk)
        rows.append(row)
    default = models[DEFAULT]
    test_audio = [src for _, src in collect_inputs([str(args.test)], [".wav"])]
    e2e = end_to_end(codec, default, test_audio, seconds)
    fixed = rows[1]["bps"]
    xz_file = min(r["bps"] for r in rows if r["name"].startswith("xz") and "per file" in r["name"])
    print_results(rows, fixed, xz_file)
    chunks = chunk_rows(default, test, seconds)
    print("chunk length (s) -> stream bps:", ", ".join(f"{c['seconds_per_chunk']:g}: {c['bps']:.1f}" for c in chunks))
    print("end to end, one thread, x real time:", ", ".join(f"{k[:-11]} {v:.0f}" for k, v in e2e.items()))
    result = {
        "meta": {
            "command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
            "model": str(args.model),
            "codec_id": codec.identity,
            "train_items": len(train),
            "train_seconds": sum(tf.header.length for tf in train_tf) / codec.sample_rate,
            "test_items": len(test),
            "test_seconds": seconds,
            "seconds_per_chunk": args.seconds_per_chunk,
            "threads": 1,
        },
        "rows": rows,
        "chunk_lengths": chunks,
        "end_to_end": e2e,
    }
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
