"""Semantic distillation: does an MFCC teacher make quantizer level 1 more like the teacher?

Trains the tiny DAC codec twice from the same seed on the same speech (the synthetic corpus's train list),
once with `losses.distill` (SpeechTokenizer's -log sigmoid(cosine), MFCC teacher) and once without, then
measures on held-out test utterances how close level 1's quantized latents are to the teacher's features:
- probe: a least-squares linear map (with bias) from level 1 to the teacher, fitted on half of the held-out
  utterances, scored on the other half; the same measure for both codecs, so it is the comparison;
- projection (distilled codec only): the trained projection head itself.
Each as the mean cosine per frame (over the teacher's 39 dimensions) and per dimension (over time, the
D-axis cosine of the loss). Teacher frames (100 Hz) are averaged onto the codec's 50 Hz frames.

    nice -n 19 python benches/distillation.py [--steps 200 --batch-size 4 --weight 40] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from codeckit.bench.table import print_table

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "egs" / "synth_speech" / "codec" / "data"


def subset(scp: Path, n: int, out: Path) -> Path:
    """The first `n` lines of `scp` spread over the list (every k-th), written to `out`."""
    lines = [ln for ln in scp.read_text().splitlines() if ln.strip()]
    step = max(1, len(lines) // n)
    out.write_text("\n".join(lines[::step][:n]) + "\n")
    return out


def config(train_scp: Path, steps: int, distill: bool, seed: int, batch_size: int, weight: float) -> dict:
    """dac_tiny (50 Hz) with EnCodec's EMA codebooks (k-means init, dead codes replaced: DAC's gradient-updated
    ones collapse to a few codes in so few steps), mel + L1 reconstruction, no discriminators; + the MFCC teacher
    at `weight` (SpeechTokenizer weighs distillation 120 against its first mel loss's 45)."""
    from codeckit.configs import model_config

    model = model_config("dac_tiny")["model"]
    model["quantizer"] = {"name": "rvq", "n_levels": 4, "level": {"name": "vq", "codebook_size": 256, "dim": 64,
                          "update": "ema", "kmeans_init": True, "dead_code_threshold": 2.0}}  # fmt: skip
    losses = {
        "reconstruction": [{"name": "mel", "weight": 15.0}, {"name": "l1", "weight": 1.0}],
        "quantizer_weights": {"commitment": 0.25, "codebook": 1.0},
    }
    if distill:
        losses["distill"] = {"teacher": {"name": "mfcc"}, "weight": weight, "axis": "d"}
    return {
        "model": model,
        "data": {"train": str(train_scp), "segment_seconds": 0.5, "batch_size": batch_size, "num_workers": 0},
        "train": {"max_steps": steps, "seed": seed, "lr": 1e-3, "lr_decay": "constant", "log_every": 25,
                  "checkpoint_every": steps, "sample_every": 0, "progress": False, "precision": "fp32"},
        "losses": losses,
    }  # fmt: skip


def level1_and_teacher(codec, teacher, paths: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per file: level 1's quantized latents (D, T) and the teacher's features averaged onto its frames (39, T)."""
    from codeckit.audio import read_audio
    from codeckit.losses.distill import align_frames

    out = []
    with torch.no_grad():
        for p in paths:
            audio = read_audio(p, codec.sample_rate, channels="mono")[0][None]
            latents = codec.encoder(codec.pad(audio))
            level1 = codec.quantizer.decode(codec.quantizer.encode(latents, 1))
            out.append((level1[0], align_frames(teacher(audio), level1.shape[-1])[0]))
    return out


def cosines(pred: list[torch.Tensor], target: list[torch.Tensor]) -> dict[str, float]:
    """Mean cosine per frame (over dimensions) and per dimension (over each file's time), over files."""
    frame = torch.cat([F.cosine_similarity(p, t, dim=0) for p, t in zip(pred, target)]).mean()
    dim = torch.stack([F.cosine_similarity(p, t, dim=1).mean() for p, t in zip(pred, target)]).mean()
    return {"frame_cosine": float(frame), "d_axis_cosine": float(dim)}


def probe(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """Least-squares linear map level 1 -> teacher fitted on the first half of the files, scored on the second."""
    half = len(pairs) // 2
    x = torch.cat([a for a, _ in pairs[:half]], dim=1).T.double()
    y = torch.cat([b for _, b in pairs[:half]], dim=1).T.double()
    x1 = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    w = torch.linalg.lstsq(x1, y, driver="gelsd").solution
    pred = [(torch.cat([a.T.double(), torch.ones(a.shape[1], 1, dtype=x.dtype)], 1) @ w).T for a, _ in pairs[half:]]
    return cosines(pred, [b.double() for _, b in pairs[half:]])


def train_and_measure(name: str, cfg: dict, exp: Path, eval_paths: list[str]) -> dict:
    """Train one codec, then measure level 1 against the teacher on `eval_paths`."""
    from codeckit.registry import ENCODERS
    from codeckit.train.config import training_config_from_dict
    from codeckit.train.trainer import Trainer

    t0 = time.perf_counter()
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), exp, device="cpu")
    try:
        history = trainer.fit()
        codec = trainer.codec.eval()
        teacher = ENCODERS.build({"name": "mfcc", "sample_rate": codec.sample_rate}).eval()
        pairs = level1_and_teacher(codec, teacher, eval_paths)
        row = {"run": name, "steps": trainer.step, "train_s": round(time.perf_counter() - t0, 1)}
        row["final_mel_loss"] = history[-1]["loss/mel"]
        row["level1_utilization"] = history[-1].get("codebook/utilization/0")  # share of level 1's codes in use
        row.update({f"probe_{k}": v for k, v in probe(pairs).items()})
        distill = trainer.objective.distill
        if distill is not None:
            with torch.no_grad():
                proj = [distill.projection(a[None])[0] for a, _ in pairs]
            row.update({f"projection_{k}": v for k, v in cosines(proj, [b for _, b in pairs]).items()})
            row["final_distill_loss"] = history[-1]["loss/distill"]
    finally:
        trainer.close()
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--train-files", type=int, default=200)
    p.add_argument("--eval-files", type=int, default=40)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--weight", type=float, default=40.0, help="distillation weight (mel loss: 15)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "benches" / "results" / "distillation.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="codeckit-distill-") as tmp:
        tmp = Path(tmp)
        train_scp = subset(DATA / "train" / "wav.scp", args.train_files, tmp / "train.scp")
        evals = subset(DATA / "test" / "wav.scp", args.eval_files, tmp / "eval.scp").read_text().splitlines()
        eval_paths = [ln.split(maxsplit=1)[1] for ln in evals]
        rows = [
            train_and_measure(
                name,
                config(train_scp, args.steps, distill, args.seed, args.batch_size, args.weight),
                tmp / name,
                eval_paths,
            )
            for name, distill in (("without teacher", False), ("MFCC teacher", True))
        ]
    cols = ["run", "steps", "final_mel_loss", "level1_utilization", "probe_frame_cosine", "probe_d_axis_cosine",
            "projection_frame_cosine", "projection_d_axis_cosine", "final_distill_loss", "train_s"]  # fmt: skip
    print_table(
        cols, [[f"{r[c]:.4f}" if isinstance(r.get(c), float) else str(r.get(c, "-")) for c in cols] for r in rows]
    )
    doc = {
        "what": "level-1 quantized latents vs MFCC teacher features, dac_tiny trained with and without distillation",
        "train_list": str(DATA / "train" / "wav.scp"), "train_files": args.train_files,
        "eval_list": str(DATA / "test" / "wav.scp"), "eval_files": args.eval_files, "seed": args.seed,
        "steps": args.steps, "batch_size": args.batch_size, "segment_seconds": 0.5, "distill_weight": args.weight,
        "threads": args.threads, "machine": platform.processor() or platform.machine(), "results": rows,
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(doc, indent=2) + "\n")
    tmp_out.replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
