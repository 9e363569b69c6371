"""`codeckit export MODEL_DIR [--out DIR]`: ONNX graphs for onnxruntime (no PyTorch needed to run them).

Writes `encoder.onnx` (audio -> codes per level) and `decoder.onnx` (codes -> audio) with dynamic batch
and length; for causal codecs also `encoder_step.onnx` / `decoder_step.onnx`, one streaming step with
the layers' states as explicit inputs and outputs. Weight norm is folded and a decoder NoiseBlock left
out (deterministic). The codec declaration and state specs are in each file's metadata; run them with
`codeckit.export.runner.OnnxCodec`. After writing, the graphs are checked against PyTorch in onnxruntime
on a length the trace did not see (skip with --no-verify).
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model directory to ONNX", description=__doc__)
    p.add_argument("model_dir", help="directory with config.yaml and model.safetensors")
    p.add_argument("--out", default=None, help="output directory (default: MODEL_DIR/onnx)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    p.add_argument(
        "--chunk-frames",
        type=int,
        default=None,
        help="latent frames per streaming step declared in the metadata (default: the smallest the codec takes)",
    )
    p.add_argument("--n-quantizers", type=int, default=None, help="export the first N levels (default: all)")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codeckit.codecs import load_codec
    from codeckit.export.exporter import DEFAULT_OPSET, export_codec, verify_export

    codec = load_codec(args.model_dir)
    out = Path(args.out) if args.out else Path(args.model_dir) / "onnx"
    paths = export_codec(
        codec,
        out,
        opset=args.opset or DEFAULT_OPSET,
        chunk_frames=args.chunk_frames,
        n_quantizers=args.n_quantizers,
    )
    for p in paths.values():
        print(f"wrote {p}")
    if not args.no_verify:
        print("verified:", json.dumps(verify_export(codec, out)))
    return 0
