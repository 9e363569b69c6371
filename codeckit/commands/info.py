"""`codeckit info MODEL_DIR`: what a model directory holds (rates, levels, bitrate, parameters)."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a model directory", description=__doc__)
    p.add_argument("model_dir", help="directory with config.yaml and model.safetensors")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def describe(model_dir: str) -> dict:
    """A summary of the codec in `model_dir`."""
    from codeckit.codecs import load_codec

    codec = load_codec(model_dir)
    return {
        "model_dir": model_dir,
        "sample_rate": codec.sample_rate,
        "channels": codec.channels,
        "levels": codec.n_levels,
        "hop_lengths": codec.hop_lengths,
        "frame_rates_hz": [round(r, 3) for r in codec.frame_rates],
        "codebook_sizes": codec.codebook_sizes,
        "bitrate_bps": round(codec.bitrate(), 1),
        "parameters": sum(p.numel() for p in codec.parameters()),
        "encoder": codec.config.encoder.get("name"),
        "quantizer": codec.config.quantizer.get("name"),
        "decoder": codec.config.decoder.get("name"),
    }


def run(args: argparse.Namespace) -> int:
    info = describe(args.model_dir)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for k, v in info.items():
            print(f"{k:16s} {v}")
    return 0
