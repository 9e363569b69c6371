"""What fitting units costs on this machine, per feature extractor: feature dump speed (seconds of audio per second),
k-means fit time (MiniBatchKMeans with `partial_fit` over the shards), the mean squared distance to the nearest
centre, units used, and whether the `kmeans` quantizer's assignment equals scikit-learn's `predict`.

Reads the first `--files` utterances of a wav.scp (default: the units recipe's training list). Prints a table and
writes JSON.

    nice -n 19 python benches/units_fit.py --files 120 --out benches/results/units_fit.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from codeckit.bench.table import print_table
from codeckit.units.dump import dump_features, read_shard
from codeckit.units.fit import fit_kmeans

RECIPE = Path(__file__).resolve().parents[1] / "egs" / "synth_speech" / "units"
FEATURES = {"mfcc": {"name": "mfcc"}, "logmel": {"name": "logmel"}}


def bench(scp: Path, name: str, n_units: int, work: Path) -> dict:
    """Dump, fit and check one feature extractor on `scp`."""
    from sklearn.cluster import MiniBatchKMeans

    from codeckit.quantizers.centroids import KMeansQuantizer, write_centroids

    t0 = time.perf_counter()
    shards = dump_features(scp, FEATURES[name], 16000, work / name, shard_frames=20_000)
    dump_s = time.perf_counter() - t0
    frames = sum(read_shard(p).shape[0] for p in shards)
    t0 = time.perf_counter()
    fit = fit_kmeans(shards, n_units, epochs=5, batch_size=10_000)
    fit_s = time.perf_counter() - t0
    km = MiniBatchKMeans(n_units, n_init=1).fit(fit.centres)  # only to get an estimator to set centres on
    km.cluster_centers_ = fit.centres.copy()
    feats = read_shard(shards[0])
    q = KMeansQuantizer(centroids=str(write_centroids(work / f"{name}.safetensors", torch.from_numpy(fit.centres))))
    ours = q.encode(torch.from_numpy(feats).T[None])[0][0].numpy()
    return {"features": name, "frames": frames, "audio_s": frames / 100, "dump_s": round(dump_s, 2),
            "audio_s_per_s": round(frames / 100 / dump_s, 1), "fit_s": round(fit_s, 2), "n_units": n_units,
            "used": fit.used, "inertia": round(fit.inertia, 3),
            "equals_sklearn_predict": bool(np.array_equal(ours, km.predict(feats)))}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scp", type=Path, default=RECIPE / "data" / "train" / "wav.scp")
    p.add_argument("--files", type=int, default=120)
    p.add_argument("--n-units", type=int, default=100)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        scp = Path(tmp) / "wav.scp"
        scp.write_text("\n".join(args.scp.read_text().splitlines()[: args.files]) + "\n")
        rows = [bench(scp, name, args.n_units, Path(tmp)) for name in FEATURES]
    cols = list(rows[0])
    print_table(cols, [[str(r[c]) for c in cols] for r in rows])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"threads": args.threads, "files": args.files, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
