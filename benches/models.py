"""Model bench: parameters, GFLOPs per second of audio, and encode / decode real-time factor on this CPU.

For every shipped model config (or those named with --configs), with random weights:
- params: trainable parameters of the whole codec (encoder + quantizer + decoder);
- GFLOPs/s: floating-point operations to encode (encoder + quantizer) and to decode (quantizer lookup +
  decoder) one second of audio, counted by `torch.utils.flop_counter.FlopCounterMode` (2 FLOPs per
  multiply-accumulate of matmuls and convolutions; element-wise ops such as Snake are not counted);
- RTF: wall-clock time to encode / decode `--seconds` of noise divided by its duration (median of
  `--repeats` runs after one warm-up, `--threads` torch threads; below 1 is faster than real time).
SNAC configs are timed beside the reference `snac` package holding the same weights (converted with
`codeckit convert --from snac`), so the two rows differ only in the implementation.

    python benches/models.py --out bench_models.json [--configs snac_24khz dac_44khz] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from codeckit.bench.table import print_records
from codeckit.codecs import build_codec, load_codec
from codeckit.configs import model_config, model_names
from codeckit.fileio import write_text_atomic


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call of `fn`, by FlopCounterMode."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall-clock seconds of `fn` over `repeats` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def snac_reference(name: str, codec_dir: Path):
    """A reference `snac.SNAC` with random weights for a shipped SNAC config, and its codeckit conversion."""
    import snac

    model = model_config(name)["model"]
    enc, dec, q = model["encoder"], model["decoder"], model["quantizer"]
    kwargs = dict(
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
    )
    ref = snac.SNAC(**kwargs).eval()
    src = codec_dir / "src"
    src.mkdir()
    (src / "config.json").write_text(json.dumps(kwargs))
    torch.save(ref.state_dict(), src / "pytorch_model.bin")
    from codeckit.convert.snac import convert_snac

    convert_snac(src, codec_dir / "converted")
    return ref, load_codec(codec_dir / "converted")


def bench_one(name: str, seconds: float, repeats: int) -> list[dict]:
    """Rows for config `name`: codeckit, and the reference package where there is one."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ref = None
        if name.startswith("snac_") and name != "snac_tiny":
            ref, codec = snac_reference(name, Path(tmp))
        else:
            codec = build_codec(model_config(name)["model"]).eval()
        sr = codec.sample_rate
        one = torch.randn(1, codec.channels, sr) * 0.1
        audio = torch.randn(1, codec.channels, int(seconds * sr)) * 0.1
        with torch.no_grad():  # not inference_mode: it breaks weight-norm parametrizations under FlopCounterMode
            codes_one = codec.encode(one)
            codes = codec.encode(audio)
            impls = [("codeckit", codec.encode, codec.decode, codes_one, codes)]
            if ref is not None:
                impls.append(("snac (reference)", ref.encode, ref.decode, ref.encode(one), ref.encode(audio)))
            for impl, enc, dec, c_one, c in impls:
                model = codec if impl == "codeckit" else ref
                rows.append(
                    {
                        "config": name,
                        "impl": impl,
                        "sample_rate": sr,
                        "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
                        "bitrate_bps": round(codec.bitrate(), 1),
                        "encode_gflops_per_s": round(count_flops(lambda: enc(one)) / 1e9, 3),  # noqa: B023
                        "decode_gflops_per_s": round(count_flops(lambda: dec(c_one)) / 1e9, 3),  # noqa: B023
                        "encode_rtf": round(median_time(lambda: enc(audio), repeats) / seconds, 4),  # noqa: B023
                        "decode_rtf": round(median_time(lambda: dec(c), repeats) / seconds, 4),  # noqa: B023
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=None, help="shipped config names (default: all)")
    p.add_argument("--seconds", type=float, default=10.0, help="audio length timed for the RTF")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--out", default="bench_models.json", help="JSON file to write")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    names = args.configs or model_names()
    rows = []
    for name in names:
        rows += bench_one(name, args.seconds, max(1, args.repeats))
    print_records(rows, list(rows[0]))
    meta = {
        "flops_method": "torch.utils.flop_counter.FlopCounterMode (matmul/conv, 2 FLOPs per MAC), 1 s of audio",
        "rtf": f"median of {args.repeats} runs on {args.seconds} s of audio, lower is faster",
        "threads": args.threads,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    write_text_atomic(args.out, json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0 if all(math.isfinite(r["encode_rtf"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
