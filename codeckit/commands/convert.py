"""`codeckit convert --from snac|encodec|dac|mimi SRC DST`: a released checkpoint -> a codeckit model directory.

SRC may be a hub repository, `hf:ORG/NAME[@REVISION]`: it is downloaded with huggingface_hub, converted
once into the model cache (`<cache-dir>/hf/ORG--NAME/<commit>`) and copied to DST; --from is then optional.
"""

from __future__ import annotations

import argparse

from codeckit.convert import CONVERTERS, converter
from codeckit.errors import CodeckitError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a released SNAC, EnCodec, DAC or Mimi checkpoint", description=__doc__)
    p.add_argument(
        "--from", dest="fmt", choices=list(CONVERTERS), default=None, help="format of SRC (detected for hf: sources)"
    )
    p.add_argument(
        "src",
        help="SNAC: a folder with config.json and pytorch_model.bin or model.safetensors (or the weights file); "
        "EnCodec: the checkpoint file (or the folder holding only it); DAC: its weights_*.pth (or the folder "
        "holding only it); Mimi: moshi's tokenizer-*.safetensors (or its folder); or hf:ORG/NAME[@REVISION]",
    )
    p.add_argument("dst", help="model directory to write (config.yaml + model.safetensors)")
    hub = p.add_argument_group("hf: sources")
    hub.add_argument("--endpoint", default=None, help="hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    hub.add_argument(
        "--cache-dir",
        default=None,
        help="model cache (default ~/.cache/codeckit/models); hub models are kept in its hf/",
    )
    hub.add_argument("--hf-cache-dir", default=None, help="huggingface_hub's download cache (default: its own)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.src.startswith("hf:"):
        from codeckit.hub import copy_model_dir, fetch_hub_model

        cached = fetch_hub_model(
            args.src, args.cache_dir, fmt=args.fmt, endpoint=args.endpoint, hf_cache_dir=args.hf_cache_dir
        )
        out = copy_model_dir(cached, args.dst)
    elif args.fmt is None:
        raise CodeckitError(f"--from {'|'.join(CONVERTERS)} is required for the local source {args.src}")
    else:
        out = converter(args.fmt)(args.src, args.dst)
    print(f"wrote {out}")
    return 0
