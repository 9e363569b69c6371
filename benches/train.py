"""Training speed of the small CPU configs of each codec family: steps/s, audio-seconds/s, peak memory.

Each config runs in its own subprocess (so peak memory is its own) on generated audio: `--warmup`
untimed steps, then `--steps` timed full training steps (discriminator + codec update) on batches
loaded beforehand, so the numbers measure the model, not the disk. Prints a table, writes JSON.

    python benches/train.py --out bench_train.json [--configs dac_tiny snac_tiny] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codeckit.bench.table import print_table

CONFIG_DIR = Path(__file__).resolve().parents[1] / "codeckit" / "configs" / "train"


def make_corpus(directory: Path, sample_rate: int, n: int = 16, seconds: float = 2.0) -> Path:
    """`n` generated harmonic-tone files and their wav.scp."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        f0 = rng.uniform(100, 300)
        x = 0.2 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3, 4)) + 0.01 * rng.standard_normal(len(t))
        path = directory / f"b{i:02d}.wav"
        sf.write(path, x.astype(np.float32), sample_rate)
        lines.append(f"b{i:02d} {path}")
    scp = directory / "wav.scp"
    scp.write_text("\n".join(lines) + "\n")
    return scp


def run_one(name: str, args: argparse.Namespace) -> dict:
    """Time one config in this process."""
    import torch

    from codeckit.config import read_yaml
    from codeckit.train.config import training_config_from_dict
    from codeckit.train.trainer import Trainer

    torch.set_num_threads(args.threads)
    data = read_yaml(CONFIG_DIR / f"{name}.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data["data"].update(
            train=str(make_corpus(tmp, data["model"]["sample_rate"])),
            num_workers=0,
            batch_size=args.batch_size or data["data"]["batch_size"],
            segment_seconds=args.segment_seconds or data["data"]["segment_seconds"],
        )
        data["train"].update(progress=False, sample_every=0, disc_start_step=0, warmup_steps=0)
        trainer = Trainer(training_config_from_dict(data, source=name), tmp / "exp", device=args.device)
        try:
            trainer.sampler.set_epoch(0)
            batches = [b.audio.to(trainer.device) for _, b in zip(range(args.warmup + args.steps), trainer.loader)]
            while len(batches) < args.warmup + args.steps:
                batches += batches[: args.warmup + args.steps - len(batches)]
            for audio in batches[: args.warmup]:
                trainer.train_step(audio)
            cuda = trainer.device.type == "cuda"
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            for audio in batches[args.warmup :]:
                trainer.train_step(audio)
            if cuda:
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            audio_s = trainer.segment * trainer.cfg.data.batch_size / trainer.sample_rate
            peak = (
                torch.cuda.max_memory_allocated() / 2**20
                if cuda
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
            return {
                "config": name,
                "device": str(trainer.device),
                "threads": args.threads,
                "batch_size": trainer.cfg.data.batch_size,
                "segment_samples": trainer.segment,
                "sample_rate": trainer.sample_rate,
                "codec_params": sum(p.numel() for p in trainer.codec.parameters()),
                "disc_params": sum(p.numel() for p in trainer.disc.parameters()) if trainer.disc is not None else 0,
                "steps": args.steps,
                "steps_per_s": args.steps / dt,
                "audio_s_per_s": args.steps * audio_s / dt,
                "peak_mem_mb": peak,
                "peak_mem_kind": "cuda_allocated" if cuda else "process_max_rss",
            }
        finally:
            trainer.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=sorted(f.stem for f in CONFIG_DIR.glob("*.yaml")))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=None, help="default: the config's")
    p.add_argument("--segment-seconds", type=float, default=None, help="default: the config's")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="bench_train.json")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args)))
        return 0
    rows = []
    for name in args.configs:
        cmd = [sys.executable, __file__, "--one", name, "--steps", str(args.steps), "--warmup", str(args.warmup)]
        cmd += ["--threads", str(args.threads), "--device", args.device]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
        if args.segment_seconds:
            cmd += ["--segment-seconds", str(args.segment_seconds)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            rows.append({"config": name, "error": (out.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print_results(rows)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0


def print_results(rows: list[dict]) -> None:
    """One line per config: its throughput and peak memory, or its error."""
    header = ["config", "device", "batch", "seg", "steps/s", "audio s/s", "peak MB"]
    cells = []
    for r in rows:
        if "error" in r:
            cells.append([r["config"], f"error: {r['error']}"])
            continue
        cells.append(
            [r["config"], r["device"], str(r["batch_size"]), str(r["segment_samples"]), f"{r['steps_per_s']:.3f}"]
            + [f"{r['audio_s_per_s']:.3f}", f"{r['peak_mem_mb']:.0f}"]
        )
    print_table(header, cells, align="<<>>>>>")


if __name__ == "__main__":
    sys.exit(main())
