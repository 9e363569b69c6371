"""`codeckit units fit|import`: semantic units as a codec.

`codeckit units fit --scp wav.scp --out DIR [--features mfcc|logmel|ENCODER.yaml] [--n-units 100]` dumps the
features of the listed files in shards (DIR/feats), fits MiniBatchKMeans over them (DIR/kmeans.safetensors) and
writes a units model directory (DIR/model: encoder + `kmeans` quantizer + an untrained unit vocoder), whose
`tokenize` gives one level of unit ids at the feature frame rate; train its vocoder with `codeckit train`.
`codeckit units import SRC DST` converts a published k-means file (`.npy`, or fairseq's joblib pickle, read
without running it) to a centroids file once. `codeckit units strings TOKENS_DIR --preset speechgpt --out FILE`
writes each token file's units as that LM's text (`utt-id <sosp><12><7>...<eosp>` per line).
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("units", help="fit or import k-means units (semantic tokens)", description=__doc__)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    fit = actions.add_parser("fit", help="features + k-means + units model dir from a wav.scp")
    fit.add_argument("--scp", required=True, help="Kaldi wav.scp: 'utt-id path' per line")
    fit.add_argument("--out", required=True, help="output folder (feats/, kmeans.safetensors, model/)")
    fit.add_argument("--features", default="mfcc", help="mfcc, logmel, or a YAML file with the encoder config")
    fit.add_argument("--sample-rate", type=int, default=16000, help="audio rate the features read (default 16000)")
    fit.add_argument("--n-units", type=int, default=100, help="k-means clusters (default 100)")
    fit.add_argument("--epochs", type=int, default=5, help="passes over the shards (default 5)")
    fit.add_argument("--batch-size", type=int, default=10000, help="frames per MiniBatchKMeans step")
    fit.add_argument("--shard-frames", type=int, default=200000, help="frames per feature shard")
    fit.add_argument("--percent", type=float, default=1.0, help="fraction of the utterances to fit on")
    fit.add_argument("--seed", type=int, default=0)
    fit.set_defaults(func=run_fit)
    imp = actions.add_parser("import", help="published k-means (.npy or fairseq joblib) -> centroids file")
    imp.add_argument("src", help="the published k-means file")
    imp.add_argument("dst", help="the centroids file to write (.safetensors)")
    imp.set_defaults(func=run_import)
    strings = actions.add_parser("strings", help="token files -> an LM's unit strings, one line per file")
    strings.add_argument("tokens", help="a folder of token files (*.tokens.safetensors) of a units model")
    strings.add_argument("--preset", default="speechgpt", help="unit preset: speechgpt or usdm (default speechgpt)")
    strings.add_argument("--out", required=True, help="text file to write: 'utt-id STRING' per line")
    strings.set_defaults(func=run_strings)


def _encoder_config(features: str) -> dict:
    """`mfcc` / `logmel` as a bare name, else the encoder config in a YAML file."""
    from pathlib import Path

    from codeckit.config import read_yaml
    from codeckit.errors import ConfigError

    if features in ("mfcc", "logmel"):
        return {"name": features}
    config = read_yaml(Path(features))
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"{features}: expected an encoder config, a mapping with a 'name'")
    return config


def run_fit(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    import torch

    from codeckit.quantizers.centroids import write_centroids
    from codeckit.units.dump import dump_features
    from codeckit.units.fit import fit_kmeans
    from codeckit.units.model import write_units_model

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    out = Path(args.out)
    encoder = _encoder_config(args.features)
    shards = dump_features(
        args.scp, encoder, args.sample_rate, out / "feats", args.shard_frames, args.percent, args.seed
    )
    fit = fit_kmeans(shards, args.n_units, args.epochs, args.batch_size, seed=args.seed)
    summary = {"frames": fit.frames, "inertia": round(fit.inertia, 4), "used_units": fit.used, "n_units": args.n_units}
    centroids = write_centroids(out / "kmeans.safetensors", torch.from_numpy(fit.centres),
                                {k: str(v) for k, v in summary.items()})  # fmt: skip
    model = write_units_model(out / "model", encoder, centroids, args.sample_rate, summary=summary)
    print(json.dumps({"centroids": str(centroids), "model": str(model), **summary}))
    return 0


def run_import(args: argparse.Namespace) -> int:
    from codeckit.units.published import import_published

    print(f"wrote {import_published(args.src, args.dst)}")
    return 0


def run_strings(args: argparse.Namespace) -> int:
    from pathlib import Path

    from codeckit.errors import ConfigError
    from codeckit.fileio import write_text_atomic
    from codeckit.tokens.presets import unit_preset
    from codeckit.tokens.tokenfile import load_tokens

    preset = unit_preset(args.preset)
    suffix = ".tokens.safetensors"
    files = sorted(Path(args.tokens).glob(f"*{suffix}"))
    if not files:
        raise ConfigError(f"{args.tokens}: no token files (*{suffix})")
    lines = []
    for path in files:
        codes = load_tokens(path).codes
        if len(codes) != 1:
            raise ConfigError(f"{path}: units have one level, this file has {len(codes)}")
        lines.append(f"{path.name[: -len(suffix)]} {preset.encode(codes[0])}")
    write_text_atomic(args.out, "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} lines of {preset.name} unit strings to {args.out}")
    return 0
