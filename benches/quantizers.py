"""Codebook use and reconstruction of each quantizer trained on the same fixed latents.

Latents: espeak-ng speech (grammar sentences, several voices and speeds) at 16 kHz -> log-mel
(80 bins, 100 frames/s, standardized per bin over the training set) -> a frozen random conv
encoder (seeded) -> `--dim` channels (optionally PCA-whitened, `--whiten`). A quarter of the
utterances, held out, form the evaluation set (large enough that a uniform use of 4096 codes would
show as ~100% utilization). `--source
synthetic` uses a documented stand-in instead (a fixed random 2-layer MLP of Gaussian noise).

Every quantizer sees the same batches of `--batch` frames for `--steps` Adam steps (lr `--lr`) on
loss = MSE(quantized, latents) + its own losses, then encodes the whole evaluation set in eval mode:
utilization (fraction of the `--codebook-size` codes used, per level), perplexity, MSE and MSE relative
to the latent variance. With `--autoencoder` the same small MLP encoder and decoder (1x1 convs) are
trained around every quantizer, end to end as in a codec, so the latents the codebook sees can adapt.
Prints a table and writes JSON.

    python benches/quantizers.py --steps 1000 --out benches/results/quantizers.json
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import time
from pathlib import Path
from typing import Any

from codeckit.bench.table import format_table

VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-us+f3", "en-gb+f2", "en-us+m4", "en-gb-x-gbclan"]


def methods(k: int, dim: int, levels: int, kmeans_iters: int) -> dict[str, dict[str, Any]]:
    """The quantizer specs compared: single codebooks of `k` codes, then `levels`-level residual forms."""
    fsq_levels = {1024: [8, 5, 5, 5], 4096: [8, 8, 8, 8], 16384: [8, 8, 8, 6, 5], 65536: [8, 8, 8, 5, 5, 5]}
    single = {
        "vq_grad": {"name": "vq", "dim": dim, "codebook_size": k},
        "vq_grad_factorized": {"name": "vq", "dim": dim, "codebook_size": k, "codebook_dim": 8, "l2_normalize": True},
        "vq_ema_kmeans_dead": {
            "name": "vq",
            "dim": dim,
            "codebook_size": k,
            "update": "ema",
            "kmeans_init": True,
            "kmeans_iters": kmeans_iters,
            "dead_code_threshold": 2.0,
        },
        "simvq": {"name": "simvq", "dim": dim, "codebook_size": k},
    }
    if k in fsq_levels:
        single["fsq"] = {"name": "fsq", "dim": dim, "levels": fsq_levels[k]}
    out = dict(single)
    if levels > 1:
        out.update({f"rvq{levels}_{n}": {"name": "rvq", "n_levels": levels, "level": s} for n, s in single.items()})
    return out


def speech_features(seconds: float, seed: int) -> tuple[list, dict[str, Any]]:
    """Log-mel frames (80, T) per utterance of espeak-ng speech, about `seconds` in total."""
    import soundfile as sf
    import torch

    from codeckit.audio import resample
    from codeckit.corpus.text import grammar_sentences
    from codeckit.losses.mel import MelSpectrogram

    mel = MelSpectrogram(16000, 512, 160, 80)
    feats, total, i = [], 0.0, 0
    sentences = grammar_sentences(max(8, int(seconds / 2)), seed=seed)
    while total < seconds:
        text = sentences[i % len(sentences)]
        voice, speed = VOICES[i % len(VOICES)], 130 + (i * 17) % 70
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], capture_output=True, check=True
        ).stdout
        audio, sr = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
        audio = resample(audio.T, sr, 16000)
        total += audio.shape[1] / 16000
        with torch.no_grad():
            feats.append(torch.log(mel(audio[None]).clamp_min(1e-5))[0, 0])
        i += 1
    return feats, {"utterances": i, "seconds": round(total, 1), "voices": VOICES, "text": "grammar_sentences"}


def make_latents(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """(train (N, D), eval (M, D)) latent frames and a description of where they came from."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(args.seed)
    if args.source == "speech":
        feats, info = speech_features(args.seconds, args.seed)
        n_eval = max(1, len(feats) // 4)
        train_f, eval_f = feats[n_eval:], feats[:n_eval]  # held-out utterances
        cat = torch.cat(train_f, dim=1)
        mean, std = cat.mean(1, keepdim=True), cat.std(1, keepdim=True)
        torch.manual_seed(args.seed)
        encoder = nn.Sequential(
            nn.Conv1d(80, 256, 5, padding=2), nn.GELU(), nn.Conv1d(256, args.dim, 3, padding=1)
        ).requires_grad_(False)
        with torch.no_grad():
            enc = [torch.cat([encoder(((f - mean) / std)[None])[0].t() for f in part]) for part in (train_f, eval_f)]
        info = {"source": "espeak-ng speech -> log-mel 80 -> frozen random conv encoder", **info}
        if args.whiten:  # PCA-whiten with training statistics, keeping the average channel scale
            mu, cov = enc[0].mean(0), torch.cov(enc[0].t())
            evals, evecs = torch.linalg.eigh(cov)
            w = evecs / evals.clamp_min(1e-8).sqrt() * float(enc[0].std())
            enc = [(e - mu) @ w for e in enc]
            info["source"] += " -> PCA-whitened"
        return enc[0], enc[1], info
    # synthetic: Gaussian noise through a fixed random MLP (a curved, anisotropic manifold)
    torch.manual_seed(args.seed)
    mlp = nn.Sequential(nn.Linear(16, 256), nn.GELU(), nn.Linear(256, args.dim)).requires_grad_(False)
    with torch.no_grad():
        data = mlp(torch.randn(int(args.seconds * 100), 16, generator=g))
    n_eval = len(data) // 4
    return data[n_eval:], data[:n_eval], {"source": "synthetic: N(0, I_16) through a fixed random MLP"}


def run_method(name: str, spec: dict, train, evalset, batches, args: argparse.Namespace) -> dict[str, Any]:
    """Train one quantizer on the fixed batches, then score it on the evaluation frames."""
    import torch
    from torch import nn

    from codeckit.registry import QUANTIZERS

    torch.manual_seed(args.seed)
    q = QUANTIZERS.build(spec)
    encoder, decoder = nn.Identity(), nn.Identity()
    if args.autoencoder:  # the same small trainable MLPs around every quantizer
        encoder, decoder = (
            nn.Sequential(nn.Conv1d(args.dim, 256, 1), nn.GELU(), nn.Conv1d(256, args.dim, 1)) for _ in range(2)
        )
    model = nn.ModuleList([encoder, q, decoder])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr) if params else None
    start = time.perf_counter()
    q.train()
    last_stats: dict[str, float] = {}
    for idx in batches:
        x = train[idx][:, :, None]  # (batch, D, 1): independent frames
        out = q(encoder(x))
        loss = (decoder(out.quantized) - x).pow(2).mean() + sum(out.losses.values(), torch.zeros(()))
        if opt is not None and loss.requires_grad:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        last_stats = {k: float(v) for k, v in out.stats.items()}
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        codes = [torch.cat(c) for c in zip(*[q.encode(encoder(chunk[:, :, None])) for chunk in evalset.split(8192)])]
        recon = torch.cat(
            [decoder(q.decode([c[i : i + 8192] for c in codes]))[:, :, 0] for i in range(0, len(evalset), 8192)]
        )
    util, ppl = [], []
    for c, k in zip(codes, q.codebook_sizes):
        counts = torch.bincount(c.reshape(-1), minlength=k).float()
        p = counts / counts.sum()
        util.append(float((counts > 0).float().mean()))
        ppl.append(float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())))
    mse = float((recon - evalset).pow(2).mean())
    return {
        "name": name,
        "spec": spec,
        "levels": q.n_levels,
        "utilization": util,
        "utilization_mean": sum(util) / len(util),
        "perplexity": ppl,
        "mse": mse,
        "relative_mse": mse / float(evalset.var()),
        "dead_codes_last_step": [last_stats.get(f"dead_codes/{i}", math.nan) for i in range(q.n_levels)],
        "train_seconds": round(seconds, 2),
    }


def table(results: list[dict[str, Any]]) -> str:
    """Plain-text table of the results."""
    header = ["quantizer", "util %", "util/level %", "perplexity", "rel MSE", "train s"]
    rows = []
    for r in results:
        per = "/".join(f"{100 * u:.0f}" for u in r["utilization"]) if r["levels"] > 1 else ""
        rows.append(
            [r["name"], f"{100 * r['utilization_mean']:.1f}", per, f"{r['perplexity'][0]:.0f}"]
            + [f"{r['relative_mse']:.4f}", f"{r['train_seconds']:.1f}"]
        )
    return format_table(header, rows, align="<>>>>>")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", choices=["speech", "synthetic"], default="speech")
    p.add_argument("--seconds", type=float, default=900.0, help="seconds of speech (100 latent frames each)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--codebook-size", type=int, default=4096)
    p.add_argument("--levels", type=int, default=4, help="levels of the residual forms (1: single codebooks only)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=4096, help="latent frames per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kmeans-iters", type=int, default=50)
    p.add_argument("--only", nargs="*", help="run only these methods")
    p.add_argument("--whiten", action="store_true", help="PCA-whiten the speech latents (training statistics)")
    p.add_argument(
        "--autoencoder",
        action="store_true",
        help="train a small MLP encoder and decoder around each quantizer (end to end, as in a codec)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benches/results/quantizers.json")
    args = p.parse_args(argv)

    import torch

    from codeckit.fileio import write_text_atomic

    torch.set_num_threads(args.threads)
    train, evalset, data_info = make_latents(args)
    g = torch.Generator().manual_seed(args.seed + 1)
    batches = [torch.randint(len(train), (args.batch,), generator=g) for _ in range(args.steps)]
    data_info.update(
        train_frames=len(train), eval_frames=len(evalset), dim=args.dim, latent_std=round(float(train.std()), 4)
    )
    print(f"data: {json.dumps(data_info)}", flush=True)
    specs = methods(args.codebook_size, args.dim, args.levels, args.kmeans_iters)
    results = []
    for name, spec in specs.items():
        if args.only and name not in args.only:
            continue
        results.append(run_method(name, spec, train, evalset, batches, args))
        r = results[-1]
        print(
            f"{name}: utilization {r['utilization']} rel MSE {r['relative_mse']:.4f} ({r['train_seconds']} s)",
            flush=True,
        )
    print(table(results))
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps({"settings": settings, "data": data_info, "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
