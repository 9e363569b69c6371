"""`codeckit convert --from snac|encodec SRC DST`: a released checkpoint -> a codeckit model directory."""

from __future__ import annotations

import argparse

FORMATS = ("snac", "encodec")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a released SNAC or EnCodec checkpoint", description=__doc__)
    p.add_argument("--from", dest="fmt", required=True, choices=FORMATS, help="format of SRC")
    p.add_argument(
        "src",
        help="SNAC: a folder with config.json and pytorch_model.bin or model.safetensors (or the weights file); "
        "EnCodec: the checkpoint file (or the folder holding only it)",
    )
    p.add_argument("dst", help="model directory to write (config.yaml + model.safetensors)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.fmt == "snac":
        from codeckit.convert.snac import convert_snac

        out = convert_snac(args.src, args.dst)
    else:
        from codeckit.convert.encodec import convert_encodec

        out = convert_encodec(args.src, args.dst)
    print(f"wrote {out}")
    return 0
