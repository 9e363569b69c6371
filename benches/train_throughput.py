"""Training throughput on the CPU: what thread settings, bfloat16 autocast, torch.compile and channels-last buy,
with and without the discriminators, and whether the loss curve stays the same.

One training config (default: the recipe's conf/cpu.yaml) and its data list (default: the config's
`data.train`, read from the recipe directory; generated tones when that list is missing). The batches are
read once, beforehand (the disk is not timed), and every variant trains the real `Trainer` on the same
batches from the same seed, in a process of its own: W warm-up steps (--warmup), then N timed steps
(--steps); the loss is compared with its phase's baseline after K = W + N steps (or --loss-steps).
The LR warm-up is skipped (train.warmup_steps: 0) so those steps move the weights at the full rate.

Variants (--variants; each names the trainer option it uses):
  eager              fp32, eager, --threads intra-op threads: the baseline of the rows without discriminators
  threads1           train.num_threads: 1
  interop1           train.num_interop_threads: 1 (intra-op threads as eager)
  bf16               bfloat16 autocast on the CPU: train.precision: bf16_cpu
  compile            torch.compile of the codec: train.compile: codec
  bf16_interop1      bf16 with one inter-op thread (conf/cpu.yaml's settings before it compiled)
  bf16_compile       bf16, one inter-op thread and torch.compile of the codec (conf/cpu.yaml's settings now)
  gan                the GAN phase (discriminators from step 0, on the config's disc_segment_seconds crop):
                     the baseline of the gan_* rows
  gan_threads1, gan_bf16, gan_compile_codec (train.compile: codec), gan_compile (train.compile: all: codec
                     and discriminators)
  gan_channels_last  the discriminators' 4-D weights in channels-last memory format, so their 2-D convs run
                     channels-last (bench only, no trainer option). Only the 2-D discriminators (mpd, mrsd,
                     mrd, msstft) have 4-D tensors; the codec's convs are 1-D (3-D tensors), so it does not apply
                     to the codec nor to the rows without discriminators.
Columns: thr (intra-op / inter-op threads), s/step (mean of the N timed steps), steps/s, audio s/s (batch x
segment seconds per second; the discriminators see their crop of it), x base (speed-up over the phase's
baseline), warm-up s (time of the W warm-up steps beyond W timed steps: torch.compile's compile time in the
compile rows, one-off set-up elsewhere), loss@K and its relative difference from the baseline's, curve = mean
relative difference of loss/total over the K steps, same = both within --tolerance. torch.compile starts from
an empty inductor cache made for this run and shared by its variants (so gan_compile reuses the codec kernels
that compile built when both run).
A variant that fails (torch.compile without a C++ compiler, a timeout) is a row with the reason; with --budget
each variant gets at most the time left (the compile variants come last), so the run ends in time.

    python benches/train_throughput.py [--config egs/synth_speech/codec/conf/cpu.yaml] [--data LIST]
        [--warmup 5] [--steps 20] [--variants eager bf16 ...] [--out benches/results/train_throughput.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codeckit.bench.table import print_table
from codeckit.fileio import write_text_atomic

RECIPE = Path(__file__).resolve().parents[1] / "egs" / "synth_speech" / "codec"

# name -> (GAN phase, train: overrides, bench-only settings)
VARIANTS: dict[str, tuple[bool, dict, dict]] = {
    "eager": (False, {}, {}),
    "threads1": (False, {"num_threads": 1}, {}),
    "interop1": (False, {"num_interop_threads": 1}, {}),
    "bf16": (False, {"precision": "bf16_cpu"}, {}),
    "compile": (False, {"compile": "codec"}, {}),
    "bf16_interop1": (False, {"precision": "bf16_cpu", "num_interop_threads": 1}, {}),
    "bf16_compile": (False, {"precision": "bf16_cpu", "num_interop_threads": 1, "compile": "codec"}, {}),
    "gan": (True, {}, {}),
    "gan_threads1": (True, {"num_threads": 1}, {}),
    "gan_bf16": (True, {"precision": "bf16_cpu"}, {}),
    "gan_channels_last": (True, {}, {"channels_last": True}),
    "gan_compile_codec": (True, {"compile": "codec"}, {}),
    "gan_compile": (True, {"compile": "all"}, {}),
}
DEFAULT_VARIANTS = ["eager", "threads1", "interop1", "bf16", "gan", "gan_bf16", "gan_channels_last", "compile"]
DEFAULT_VARIANTS += ["gan_compile"]


def baseline_of(name: str) -> str:
    return "gan" if VARIANTS[name][0] else "eager"


def write_tones(directory: Path, sample_rate: int, n: int = 16, seconds: float = 2.0) -> Path:
    """`n` generated harmonic-tone files and their list (when the config's data list is missing)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        f0 = rng.uniform(100, 300)
        x = 0.2 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in (1, 2, 3, 4)) + 0.01 * rng.standard_normal(len(t))
        sf.write(directory / f"t{i:02d}.wav", x.astype(np.float32), sample_rate)
        lines.append(f"t{i:02d} {directory / f't{i:02d}.wav'}")
    (directory / "wav.scp").write_text("\n".join(lines) + "\n")
    return directory / "wav.scp"


@contextlib.contextmanager
def _chdir(path: Path):
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def prepare(args: argparse.Namespace, work: Path) -> dict:
    """Write WORK/config.json (the config every variant starts from) and WORK/batches.pt; return the run's facts."""
    import torch

    from codeckit.config import read_yaml
    from codeckit.train.config import training_config_from_dict
    from codeckit.train.trainer import Trainer

    data = read_yaml(args.config)
    recipe = Path(args.config).resolve().parent.parent  # egs/<corpus>/<model>: run.sh's working directory
    if args.data:
        scp, where, data_note = Path(args.data).resolve(), Path.cwd(), str(args.data)
    else:
        scp, where = recipe / data["data"]["train"], recipe
        data_note = str(scp)
        if not scp.is_file():
            scp, data_note = write_tones(work / "tones", data["model"]["sample_rate"]), "generated tones"
            where = work
    data["data"].update(train=str(scp), num_workers=0)
    if args.batch_size:
        data["data"]["batch_size"] = args.batch_size
    data["train"].update(warmup_steps=0, progress=False, sample_every=0, log_every=10**6, checkpoint_every=10**6)
    data["train"].update(precision="fp32", compile="none", num_threads=args.threads, num_interop_threads=None)
    total = max(args.warmup + args.steps, args.loss_steps or 0)
    threads = torch.get_num_threads()
    with _chdir(where):  # the list's relative paths are relative to where run.sh trains
        trainer = Trainer(training_config_from_dict(data, source=str(args.config)), work / "exp_batches", "cpu")
        try:
            batches: list = []
            epoch = 0
            while len(batches) < total:
                trainer.sampler.set_epoch(epoch)
                before = len(batches)
                batches += [b.audio for _, b in zip(range(total - len(batches)), trainer.loader)]
                if len(batches) == before:
                    raise SystemExit(f"{scp}: no full batch of {trainer.cfg.data.batch_size} in the list")
                epoch += 1
            facts = {
                "config": str(args.config),
                "data": data_note,
                "batch_size": trainer.cfg.data.batch_size,
                "segment_samples": trainer.segment,
                "sample_rate": trainer.sample_rate,
                "audio_s_per_step": trainer.segment * trainer.cfg.data.batch_size / trainer.sample_rate,
                "disc_segment_seconds": trainer.cfg.train.disc_segment_seconds,
                "codec_params": sum(p.numel() for p in trainer.codec.parameters()),
                "discriminators": [d["name"] for d in data.get("discriminators") or []],
                "disc_params": sum(p.numel() for p in trainer.disc.parameters()) if trainer.disc is not None else 0,
            }
        finally:
            trainer.close()
            torch.set_num_threads(threads)
    torch.save(batches, work / "batches.pt")
    (work / "config.json").write_text(json.dumps(data))
    return facts


def run_variant(name: str, work: Path, warmup: int, steps: int, loss_steps: int | None) -> dict:
    """Train variant `name` in this process on WORK's batches; return its row (timings and loss curve)."""
    import torch

    from codeckit.train.config import training_config_from_dict
    from codeckit.train.speed import CompileError
    from codeckit.train.trainer import Trainer

    gan, overrides, bench = VARIANTS[name]
    data = json.loads((work / "config.json").read_text())
    data["train"].update(overrides, disc_start_step=0 if gan else 2**62)
    batches = torch.load(work / "batches.pt")
    row: dict = {"variant": name, "gan": gan, **{k: v for k, v in data["train"].items() if k in overrides}}
    threads = torch.get_num_threads()
    trainer = Trainer(training_config_from_dict(data, source=name), work / f"exp_{name}", device="cpu")
    try:
        row["threads"], row["interop_threads"] = torch.get_num_threads(), torch.get_num_interop_threads()
        if bench.get("channels_last"):
            n4 = sum(p.dim() == 4 for p in trainer.disc.parameters())
            trainer.disc.to(memory_format=torch.channels_last)  # the same parameters: the optimizer keeps them
            row["note"] = f"{n4} 4-D discriminator parameters channels-last; the codec has none (1-D convs)"
        times, losses = [], []
        for i in range(max(warmup + steps, loss_steps or 0)):
            t0 = time.perf_counter()
            metrics = trainer.train_step(batches[i % len(batches)])
            times.append(time.perf_counter() - t0)
            trainer.step += 1
            losses.append(metrics["loss/total"])
    except CompileError as e:
        return {**row, "error": str(e)}
    finally:
        trainer.close()
        torch.set_num_threads(threads)
    timed = times[warmup : warmup + steps]
    mean = statistics.fmean(timed)
    return {
        **row,
        "s_per_step": mean,
        "median_s_per_step": statistics.median(timed),
        "steps_per_s": 1 / mean,
        "warmup_s": sum(times[:warmup]),
        "warmup_extra_s": max(0.0, sum(times[:warmup]) - warmup * mean),
        "first_step_s": times[0],
        "losses": losses,
    }


def run_in_child(name: str, work: Path, args: argparse.Namespace, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--work", str(work)]
    cmd += ["--warmup", str(args.warmup), "--steps", str(args.steps)]
    if args.loss_steps:
        cmd += ["--loss-steps", str(args.loss_steps)]
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(work / "inductor_cache")}
    # a session of its own, so a timeout also stops the C++ compilers torch.compile started
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException as e:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        if not isinstance(e, subprocess.TimeoutExpired):
            raise
        return {"variant": name, "gan": VARIANTS[name][0], "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        lines = [line for line in stderr.strip().splitlines() if line.strip()] or ["failed"]
        return {"variant": name, "gan": VARIANTS[name][0], "error": lines[-1]}
    return json.loads(stdout.strip().splitlines()[-1])


def compare(rows: list[dict], facts: dict, tolerance: float) -> None:
    """Add speed-up and loss-curve columns against each phase's baseline."""
    base = {r["variant"]: r for r in rows if r["variant"] in ("eager", "gan") and "error" not in r}
    for r in rows:
        if "error" in r:
            continue
        r["audio_s_per_s"] = r["steps_per_s"] * facts["audio_s_per_step"]
        b = base.get(baseline_of(r["variant"]))
        if b is None:
            continue
        r["speedup"] = r["steps_per_s"] / b["steps_per_s"]
        k = min(len(r["losses"]), len(b["losses"]))
        rel = [abs(x - y) / max(abs(y), 1e-12) for x, y in zip(r["losses"][:k], b["losses"][:k])]
        r.update(loss_steps=k, loss=r["losses"][k - 1], baseline_loss=b["losses"][k - 1])
        r.update(loss_rel_diff=rel[-1], curve_rel_diff=statistics.fmean(rel))
        r["same_loss"] = rel[-1] <= tolerance and r["curve_rel_diff"] <= tolerance


def print_results(rows: list[dict]) -> None:
    """One line per variant: its speed against the baseline and its loss after K steps, or its error."""
    header = ["variant", "thr", "s/step", "steps/s", "audio s/s", "x base", "warm-up s", "loss@K", "vs base", "curve"]
    print_table([*header, "same"], [_row_cells(r) for r in rows], align="<" + ">" * 9 + "<")


def _row_cells(r: dict) -> list[str]:
    """A result row's cells (an error's message in place of the numbers; a note after them)."""
    if "error" in r:
        return [r["variant"], f"error: {r['error']}"]
    cells = [r["variant"], f"{r['threads']}/{r['interop_threads']}", f"{r['s_per_step']:.3f}"]
    cells += [f"{r['steps_per_s']:.3f}", f"{r['audio_s_per_s']:.2f}", f"{r.get('speedup', float('nan')):.2f}"]
    cells.append(f"{r['warmup_extra_s']:.1f}")
    if "loss" in r:
        cells += [f"{r['loss']:.4f}", f"{100 * r['loss_rel_diff']:.2f}%", f"{100 * r['curve_rel_diff']:.2f}%"]
        cells.append("yes" if r["same_loss"] else "NO")
    else:
        cells += ["", "", "", ""]
    return cells + ([f"({r['note']})"] if "note" in r else [])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=RECIPE / "conf" / "cpu.yaml")
    p.add_argument("--data", help="data list (default: the config's data.train, relative to the recipe directory)")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=DEFAULT_VARIANTS)
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (they hold torch.compile's compile)")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--loss-steps", type=int, default=None, help="compare the loss after K steps (default W + N)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads of every variant but *threads1")
    p.add_argument("--batch-size", type=int, default=None, help="default: the config's")
    p.add_argument("--tolerance", type=float, default=0.02, help="largest relative loss difference called the same")
    p.add_argument("--timeout", type=float, default=600, help="seconds per variant before it is reported as failed")
    p.add_argument(
        "--budget", type=float, default=None, help="seconds for the whole run: a variant gets at most what is left"
    )
    p.add_argument("--in-process", action="store_true", help="run the variants here, not one process each (tests)")
    p.add_argument("--out", type=Path, default=Path("benches/results/train_throughput.json"))
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(run_variant(args.one, args.work, args.warmup, args.steps, args.loss_steps)))
        return 0
    if args.warmup < 0 or args.steps < 1:
        p.error("--warmup must be >= 0 and --steps >= 1")
    names = list(dict.fromkeys([baseline_of(n) for n in args.variants] + args.variants))  # baselines first
    result: dict = {
        "meta": {"command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])])},
        "rows": [],
    }
    start = time.perf_counter()

    def left() -> float:
        return math.inf if args.budget is None else args.budget - (time.perf_counter() - start)

    with tempfile.TemporaryDirectory(prefix="train_throughput_") as tmp:
        work = Path(tmp)
        facts = prepare(args, work)
        import torch

        result["meta"].update(
            facts,
            warmup=args.warmup,
            steps=args.steps,
            torch=torch.__version__,
            cpu_capability=torch.backends.cpu.get_cpu_capability(),
            cpu_count=os.cpu_count(),
            tolerance=args.tolerance,
        )
        rows = result["rows"]
        for name in names:
            if VARIANTS[name][0] and not facts["discriminators"]:
                rows.append({"variant": name, "gan": True, "error": "the config has no discriminators"})
            elif args.in_process and "num_interop_threads" in VARIANTS[name][1]:
                rows.append({"variant": name, "gan": False, "error": "inter-op threads need a process of their own"})
            elif args.in_process:
                rows.append(run_variant(name, work, args.warmup, args.steps, args.loss_steps))
            elif (timeout := min(args.timeout, left())) < 15:
                rows.append({"variant": name, "gan": VARIANTS[name][0], "error": "not run: --budget spent"})
            else:
                rows.append(run_in_child(name, work, args, timeout))
            compare(rows, facts, args.tolerance)
            write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")  # after each: a stopped run keeps rows
            done = rows[-1]
            print(f"{name}: " + (done["error"] if "error" in done else f"{done['s_per_step']:.3f} s/step"), flush=True)
    print(
        f"\n{facts['config']}: batch {facts['batch_size']} x {facts['segment_samples']} samples "
        f"({facts['audio_s_per_step']:g} s of audio per step), data {facts['data']}, "
        f"{args.warmup} warm-up + {args.steps} timed steps, loss after K steps"
    )
    print_results(result["rows"])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
