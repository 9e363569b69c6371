"""`codeckit export MODEL_DIR [--out DIR] [--precision fp32|fp16|int8]`: ONNX graphs for onnxruntime (no PyTorch
needed to run them).

Writes `encoder.onnx` (audio -> codes per level) and `decoder.onnx` (codes -> audio) with dynamic batch
and length; for causal codecs also `encoder_step.onnx` / `decoder_step.onnx`, one streaming step with
the layers' states as explicit inputs and outputs (non-causal SNAC stacks: lookahead step graphs, exact but
late by their declared delay). Weight norm is folded and a decoder NoiseBlock left out (deterministic). The
codec declaration and state specs are in each file's metadata; run them with
`codeckit.export.runner.OnnxCodec`. After writing, the fp32 graphs are checked against PyTorch in onnxruntime
on a length the trace did not see (skip with --no-verify).

`--precision fp16 | int8` converts the fp32 graphs (`codeckit.export.precision`; int8 by onnxruntime
quantization, `--quantization dynamic` or `static`, the latter calibrated on `--calibration` audio: a
wav.scp, a folder of .wav files or files) and prints how far its codes and audio are from fp32's.
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model directory to ONNX", description=__doc__)
    p.add_argument("model_dir", help="directory with config.yaml and model.safetensors")
    p.add_argument("--out", default=None, help="output directory (default: MODEL_DIR/onnx, or onnx_PRECISION)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.add_argument(
        "--chunk-frames",
        type=int,
        default=None,
        help="latent frames per streaming step declared in the metadata (default: the smallest the codec takes)",
    )
    p.add_argument("--n-quantizers", type=int, default=None, help="export the first N levels (default: all)")
    p.add_argument("--precision", choices=("fp32", "fp16", "int8"), default="fp32", help="weights and arithmetic")
    p.add_argument("--quantization", choices=("dynamic", "static"), default="dynamic", help="int8 method")
    p.add_argument("--calibration", nargs="+", default=None, help="int8 static: wav.scp, a folder of .wav, or files")
    p.add_argument("--calibration-files", type=int, default=8, help="int8 static: calibrate on the first N files")
    p.add_argument("--keep-float", nargs="+", default=(), help="int8: leave nodes whose name contains one float")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from codeckit.codecs import load_codec
    from codeckit.export.exporter import DEFAULT_OPSET, export_codec, verify_export
    from codeckit.export.precision import compare_precision, convert_precision, read_calibration

    codec = load_codec(args.model_dir)
    suffix = "" if args.precision == "fp32" else f"_{args.precision}"
    out = Path(args.out) if args.out else Path(args.model_dir) / f"onnx{suffix}"
    calibration = None
    if args.precision == "int8" and args.quantization == "static":
        calibration = read_calibration(args.calibration, codec.sample_rate, codec.channels, args.calibration_files)
    options = {"opset": args.opset or DEFAULT_OPSET, "chunk_frames": args.chunk_frames}
    with tempfile.TemporaryDirectory(prefix=".fp32.", dir=out.parent if out.parent.exists() else None) as tmp:
        fp32 = out if args.precision == "fp32" else Path(tmp)
        paths = export_codec(codec, fp32, n_quantizers=args.n_quantizers, **options)
        if not args.no_verify:
            print("verified:", json.dumps(verify_export(codec, fp32)))
        if args.precision != "fp32":
            paths = convert_precision(fp32, out, args.precision, args.quantization, calibration, args.keep_float)
            print(f"{args.precision} vs fp32:", json.dumps(compare_precision(fp32, out, calibration)))
    for p in paths.values():
        print(f"wrote {p}")
    return 0
