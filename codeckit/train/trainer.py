"""The GAN trainer: one codec, any set of discriminators, resumable, the same on CPU, one GPU or under torchrun.

Per step: (1) the codec encodes, quantizes and decodes a batch of crops; (2) from
`train.disc_start_step` on, the discriminators learn real vs. decoded audio; (3) the codec learns from
reconstruction, quantizer, adversarial and feature-matching losses (weighted, or through EnCodec's
balancer). Non-finite losses or gradients skip the update; too many in a row stop the run.
"""

from __future__ import annotations

import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from codeckit.codecs import build_codec
from codeckit.config import to_dict
from codeckit.discriminators import build_discriminators
from codeckit.errors import CodeckitError
from codeckit.fileio import write_text_atomic
from codeckit.losses import Balancer, FeatureMatchingLoss
from codeckit.registry import LOSSES
from codeckit.train import distributed as D
from codeckit.train.checkpoint import (
    CheckpointError,
    ema_codec,
    export_codec,
    list_checkpoints,
    load_checkpoint,
    newest_readable_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from codeckit.train.config import TrainingConfig
from codeckit.train.data import DataError, make_loader
from codeckit.train.ema import WeightEMA
from codeckit.train.schedule import lr_factor
from codeckit.train.speed import Compiled, autocast, autocast_device, set_threads

log = logging.getLogger("codeckit.train")


class TrainingError(CodeckitError, RuntimeError):
    """Training cannot go on (repeated non-finite steps, an unusable experiment directory)."""


class _TqdmHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


def _finite(*values: torch.Tensor | None) -> bool:
    return all(v is None or bool(torch.isfinite(v).all()) for v in values)


def _split(out: list, n: int) -> tuple[list, list]:
    """Discriminator output on cat([real, fake]) -> (real part, fake part)."""
    real = [(lg[:n], [f[:n] for f in fs]) for lg, fs in out]
    fake = [(lg[n:], [f[n:] for f in fs]) for lg, fs in out]
    return real, fake


class Trainer:
    """Builds everything a run needs from a `TrainingConfig` and trains with `fit()`."""

    def __init__(
        self,
        config: TrainingConfig,
        exp_dir: str | Path,
        device: str = "auto",
        resume: bool = False,
        max_steps: int | None = None,
    ):
        self.cfg = config
        tc = config.train
        self.exp_dir = Path(exp_dir)
        self.ckpt_dir = self.exp_dir / "checkpoints"
        self.dist = D.init_distributed(device)
        self.device = self.dist.device
        self.stop_step = int(max_steps) if max_steps is not None else tc.max_steps
        self._handlers: list[logging.Handler] = []
        self.tb = None
        self._setup_logging()
        try:
            self._build(resume)
        except BaseException:
            self.close()
            raise

    def _build(self, resume: bool) -> None:
        config, tc = self.cfg, self.cfg.train
        set_threads(tc.num_threads, tc.num_interop_threads)
        random.seed(tc.seed)
        np.random.seed(tc.seed)
        torch.manual_seed(tc.seed)
        self.codec = build_codec(config.model, source="model").to(self.device)
        self.sample_rate = self.codec.sample_rate
        self.disc = (
            build_discriminators(config.discriminators, channels=self.codec.channels).to(self.device)
            if config.discriminators
            else None
        )
        self._build_losses()
        self._build_optimizers()
        self.ema = WeightEMA(self.codec, tc.ema_decay) if tc.ema_decay else None

        multiple = self.codec.pad_multiple
        self.segment = max(multiple, int(config.data.segment_seconds * self.sample_rate) // multiple * multiple)
        self.loader, self.sampler = make_loader(
            config.data.train,
            self.sample_rate,
            self.segment,
            self.codec.channels,
            config.data.batch_size,
            config.data.num_workers,
            tc.seed,
            self.dist.rank,
            self.dist.world_size,
        )
        # what each forward pass calls: the modules, under DDP and/or torch.compile when asked
        self.gen: Any = self.codec
        self.disc_train: Any = self.disc  # the discriminators' own update
        self.disc_gen: Any = self.disc  # the codec's adversarial and feature losses (no DDP: frozen weights)
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.gen = DDP(self.codec, device_ids=ids, find_unused_parameters=tc.find_unused_parameters)
            if self.disc is not None:
                self.disc_train = DDP(self.disc, device_ids=ids)
        if tc.compile != "none":
            self.gen = Compiled(self.gen, "codec")
        if tc.compile == "all" and self.disc is not None:
            self.disc_gen = Compiled(self.disc, "discriminators")
            ddp = self.disc_train is not self.disc
            self.disc_train = Compiled(self.disc_train, "discriminators") if ddp else self.disc_gen
        self.autocast_device = autocast_device(tc.precision, self.device)

        self.step = self.epoch = self.batch_in_epoch = self.nan_streak = 0
        self.bad_files: set[str] = set()
        self.skipped = 0
        torch.manual_seed(tc.seed + self.dist.rank)  # ranks differ in quantizer dropout and noise
        self._prepare_exp_dir(resume)
        if self.dist.is_main:
            from codeckit.train.tblog import TBLogger

            self.tb = TBLogger(self.exp_dir / "tb", self.sample_rate)
        self.history: list[dict[str, float]] = []

    # -- construction -------------------------------------------------------------------------
    def _setup_logging(self) -> None:
        logger = logging.getLogger("codeckit")
        logger.setLevel(logging.INFO)
        fmt = logging.Formatter(f"%(asctime)s [rank {self.dist.rank}] %(levelname)s %(message)s")
        if self.dist.is_main:
            self.exp_dir.mkdir(parents=True, exist_ok=True)
            handlers: list[logging.Handler] = [logging.FileHandler(self.exp_dir / "train.log"), _TqdmHandler()]
        else:
            handlers = [_TqdmHandler()]
            handlers[0].setLevel(logging.WARNING)
        for h in handlers:
            h.setFormatter(fmt)
            logger.addHandler(h)
        self._handlers = handlers

    def _build_losses(self) -> None:
        lc = self.cfg.losses
        self.rec_losses: list[tuple[str, float, nn.Module]] = []
        for i, spec in enumerate(lc.reconstruction):
            spec = dict(spec)
            weight = float(spec.pop("weight", 1.0))
            module = LOSSES.build(spec, source=f"losses.reconstruction[{i}]", sample_rate=self.sample_rate)
            name = spec["name"]
            if any(n == name for n, _, _ in self.rec_losses):
                name = f"{name}_{i}"
            self.rec_losses.append((name, weight, module.to(self.device)))
        self.adv_loss = LOSSES.build(lc.adversarial, source="losses.adversarial")
        self.fm_loss = FeatureMatchingLoss(relative=lc.feature_matching_relative)
        self.weights = {n: w for n, w, _ in self.rec_losses}
        if self.disc is not None:
            self.weights["adversarial"] = lc.adversarial_weight
            self.weights["feature_matching"] = lc.feature_matching_weight
        self.balancer = Balancer(self.weights, lc.balancer_ema_decay) if lc.balancer else None

    def _build_optimizers(self) -> None:
        tc = self.cfg.train
        opt_cls = torch.optim.AdamW if tc.optimizer == "adamw" else torch.optim.Adam
        factor = lr_factor(tc.lr_decay, tc.warmup_steps, tc.max_steps, tc.lr_gamma, tc.min_lr_ratio)
        kw = {"betas": tuple(tc.betas), "weight_decay": tc.weight_decay}
        self.opt_g = opt_cls(self.codec.parameters(), lr=tc.lr, **kw)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, factor)
        self.opt_d = self.sched_d = None
        if self.disc is not None:
            self.opt_d = opt_cls(self.disc.parameters(), lr=tc.disc_lr or tc.lr, **kw)
            self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, factor)

    def _prepare_exp_dir(self, resume: bool) -> None:
        found = list_checkpoints(self.ckpt_dir)
        if found and not resume:
            raise TrainingError(
                f"{self.ckpt_dir} already holds checkpoints (last: step {found[-1][0]}); "
                "pass --resume to continue, or use a new --exp-dir"
            )
        if resume and found:
            self.load(newest_readable_checkpoint(self.ckpt_dir, log))  # a damaged newest one: the one before
        elif resume:
            log.info("--resume given but %s has no checkpoint: starting from step 0", self.ckpt_dir)
        if self.dist.is_main:
            write_text_atomic(self.exp_dir / "config.yaml", yaml.safe_dump(to_dict(self.cfg), sort_keys=False))

    # -- checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (RNG states of every rank included)."""
        rngs = D.gather_objects(rng_state())
        return {
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "nan_streak": self.nan_streak,
            "bad_files": sorted(self.bad_files),
            "skipped": self.skipped,
            "codec": self.codec.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "disc": self.disc.state_dict() if self.disc is not None else None,
            "opt_d": self.opt_d.state_dict() if self.opt_d is not None else None,
            "sched_d": self.sched_d.state_dict() if self.sched_d is not None else None,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "balancer": self.balancer.state_dict() if self.balancer is not None else None,
            "rng": rngs,
            "config": yaml.safe_dump(to_dict(self.cfg), sort_keys=False),
        }

    def save(self) -> None:
        state = self.state()  # collective: every rank takes part
        if self.dist.is_main:
            path = save_checkpoint(self.ckpt_dir, self.step, state, self.cfg.train.keep_checkpoints)
            log.info("step %d: checkpoint %s", self.step, path)
        D.barrier()

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by `save` (same model, discriminators and optimizers)."""
        st = load_checkpoint(path)
        try:
            self.codec.load_state_dict(st["codec"])
            self.opt_g.load_state_dict(st["opt_g"])
            self.sched_g.load_state_dict(st["sched_g"])
            if self.disc is not None:
                if st["disc"] is None:
                    raise CheckpointError(f"{path} has no discriminator state but the config names discriminators")
                self.disc.load_state_dict(st["disc"])
                self.opt_d.load_state_dict(st["opt_d"])
                self.sched_d.load_state_dict(st["sched_d"])
            if self.ema is not None and st["ema"] is not None:
                self.ema.load_state_dict(st["ema"])
            if self.balancer is not None and st["balancer"] is not None:
                self.balancer.load_state_dict(st["balancer"])
        except (RuntimeError, KeyError, ValueError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise CheckpointError(f"checkpoint {path} does not fit this config: {str(e).splitlines()[0]}") from None
        self.step, self.epoch, self.batch_in_epoch = st["step"], st["epoch"], st["batch_in_epoch"]
        self.nan_streak, self.skipped, self.bad_files = st["nan_streak"], st["skipped"], set(st["bad_files"])
        rngs = st["rng"]
        if len(rngs) == self.dist.world_size:
            set_rng_state(rngs[self.dist.rank])
        else:
            log.warning(
                "checkpoint saved with %d processes, now %d: RNG states reseeded", len(rngs), self.dist.world_size
            )
            torch.manual_seed(self.cfg.train.seed + self.step * 1000 + self.dist.rank)
        log.info("resumed from %s at step %d", path, self.step)

    # -- one step -----------------------------------------------------------------------------
    def _autocast(self):
        return autocast(self.autocast_device)

    def train_step(self, audio: torch.Tensor) -> dict[str, float]:
        """One discriminator + codec update on `audio (B, C, T)`; returns the logged scalars."""
        tc, lc = self.cfg.train, self.cfg.losses
        use_gan = self.disc is not None and self.step >= tc.disc_start_step
        metrics: dict[str, float] = {}
        self.codec.train()
        with self._autocast():
            out = self.gen(audio)
        fake = out.audio.float()
        n = audio.shape[0]

        d_ok = True
        if use_gan:
            d_real, d_fake = self._disc_crop(audio, fake)
            self.disc.train()
            with self._autocast():
                d_out = self.disc_train(torch.cat([d_real, d_fake.detach()]))
            d_loss = self.adv_loss.discriminator(*_split(d_out, n))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            d_norm = nn.utils.clip_grad_norm_(self.disc.parameters(), tc.disc_grad_clip or math.inf)
            d_ok = D.all_true(_finite(d_loss, d_norm), self.device)
            if d_ok:
                self.opt_d.step()
            metrics["loss/discriminator"] = float(d_loss.detach())
            metrics["grad_norm/discriminator"] = float(d_norm.detach())

        terms = {name: loss(fake, audio) for name, _, loss in self.rec_losses}
        if use_gan:
            self.disc.requires_grad_(False)
            with self._autocast():
                real_out, fake_out = _split(self.disc_gen(torch.cat([d_real, d_fake])), n)
            self.disc.requires_grad_(True)
            terms["adversarial"] = self.adv_loss.generator(fake_out)
            terms["feature_matching"] = self.fm_loss(real_out, fake_out)
        q_terms = {k: v for k, v in out.losses.items()}
        q_total = sum(
            (lc.quantizer_weights.get(k, lc.quantizer_default_weight) * v.float() for k, v in q_terms.items()),
            torch.zeros((), device=self.device),
        )
        total = sum(self.weights[k] * v for k, v in terms.items()) + q_total
        self.opt_g.zero_grad(set_to_none=True)
        if self.balancer is not None:
            grad = self.balancer.backward_grad(terms, fake)
            tensors, grads = [fake], [grad]
            if q_total.requires_grad:
                tensors.append(q_total)
                grads.append(torch.ones_like(q_total))
            torch.autograd.backward(tensors, grads)
        else:
            total.backward()
        g_norm = nn.utils.clip_grad_norm_(self.codec.parameters(), tc.grad_clip or math.inf)
        g_ok = D.all_true(_finite(total, g_norm), self.device)
        if g_ok and d_ok:
            self.opt_g.step()
            if self.ema is not None:
                self.ema.update(self.codec)
            self.nan_streak = 0
        else:
            self.opt_g.zero_grad(set_to_none=True)
            self.nan_streak += 1
            what = "codec loss/gradients" if not g_ok else "discriminator loss/gradients"
            log.warning(
                "step %d: non-finite %s (loss %s, grad norm %s); update skipped (%d in a row)",
                self.step + 1,
                what,
                float(total.detach()),
                float(g_norm),
                self.nan_streak,
            )
            if self.nan_streak >= tc.max_nan_steps:
                raise TrainingError(
                    f"training stopped at step {self.step + 1}: {self.nan_streak} steps in a row had non-finite "
                    f"{what}; lower train.lr, raise train.warmup_steps or set train.grad_clip"
                )
        if g_ok and d_ok:  # a skipped step does not advance the LR schedules
            self.sched_g.step()
            if self.sched_d is not None and use_gan:
                self.sched_d.step()

        metrics["loss/total"] = float(total.detach())
        for k, v in terms.items():
            metrics[f"loss/{k}"] = float(v.detach())
        for k, v in q_terms.items():
            metrics[f"loss/quantizer/{k}"] = float(v.detach())
        metrics["grad_norm/codec"] = float(g_norm)
        metrics["lr/codec"] = self.opt_g.param_groups[0]["lr"]
        if self.opt_d is not None:
            metrics["lr/discriminator"] = self.opt_d.param_groups[0]["lr"]
        for k, v in out.stats.items():
            if torch.is_tensor(v) and v.numel() == 1 or isinstance(v, (int, float)):
                metrics[f"codebook/{k}"] = float(v)
        if self.balancer is not None:
            for k, v in self.balancer.last_norms.items():
                metrics[f"balancer/grad_norm/{k}"] = v
        self._last = (audio, fake)
        return metrics

    def _disc_crop(self, audio: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same random window of real and decoded audio when `train.disc_segment_seconds` is set: the
        discriminators' cost grows with their input, the reconstruction losses still see the whole segment."""
        seconds = self.cfg.train.disc_segment_seconds
        length = audio.shape[-1] if seconds is None else min(audio.shape[-1], int(seconds * self.sample_rate))
        if length >= audio.shape[-1]:
            return audio, fake
        start = int(torch.randint(0, audio.shape[-1] - length + 1, ()))
        return audio[..., start : start + length], fake[..., start : start + length]

    # -- the loop -----------------------------------------------------------------------------
    def _note_bad(self, bad: list[tuple[str, str]]) -> None:
        for path, reason in bad:
            self.skipped += 1
            if path not in self.bad_files:
                self.bad_files.add(path)
                log.warning("skipping bad file %s: %s (%d bad files so far)", path, reason, len(self.bad_files))
            else:
                log.debug("skipping bad file %s again", path)
        if len(self.bad_files) > self.cfg.data.max_bad_files:
            raise DataError(
                f"{len(self.bad_files)} files in {self.cfg.data.train} could not be read "
                f"(more than data.max_bad_files={self.cfg.data.max_bad_files}); last: {bad[-1][0]}"
            )

    def _log(self, metrics: dict[str, float], rate: tuple[float, float] | None) -> None:
        row = {"step": self.step, **metrics}
        if rate is not None:
            row["speed/steps_per_s"], row["speed/audio_s_per_s"] = rate
        row["data/bad_files"] = len(self.bad_files)
        row["data/skipped_reads"] = self.skipped
        self.history.append(row)
        if self.dist.is_main:
            with open(self.exp_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            self.tb.scalars({k: v for k, v in row.items() if k != "step"}, self.step)

    def fit(self) -> list[dict[str, float]]:
        """Train until `max_steps` (or `--max-steps`), checkpointing and logging; export the model at the end."""
        tc = self.cfg.train
        log.info(
            "training %s on %s: %d process(es), segment %d samples, batch %d per process, steps %d -> %d",
            self.cfg.model.encoder.get("name"),
            self.device,
            self.dist.world_size,
            self.segment,
            self.cfg.data.batch_size,
            self.step,
            self.stop_step,
        )
        bar = None
        if self.dist.is_main and tc.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.stop_step, initial=self.step, desc="train", dynamic_ncols=True)
        t0, s0 = time.perf_counter(), self.step
        audio_per_step = self.segment * self.cfg.data.batch_size * self.dist.world_size / self.sample_rate
        try:
            while self.step < self.stop_step:
                self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
                for batch in self.loader:
                    if batch.bad:
                        self._note_bad(batch.bad)
                    metrics = self.train_step(batch.audio.to(self.device, non_blocking=True))
                    self.step += 1
                    self.batch_in_epoch += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{metrics['loss/total']:.4g}", refresh=False)
                    if self.step % tc.log_every == 0 or self.step == self.stop_step:
                        dt = time.perf_counter() - t0
                        rate = (self.step - s0) / dt if dt > 0 else 0.0
                        self._log(metrics, (rate, rate * audio_per_step))
                        t0, s0 = time.perf_counter(), self.step
                    if self.tb is not None and tc.sample_every and self.step % tc.sample_every == 0:
                        self.tb.samples(*self._last, self.step)
                    if self.step % tc.checkpoint_every == 0:
                        self.save()
                    if self.step >= self.stop_step:
                        break
                else:
                    self.epoch += 1
                    self.batch_in_epoch = 0
            if self.step % tc.checkpoint_every != 0:
                self.save()
            self.export()
            if self.skipped:
                log.warning("%d bad files skipped (%d reads)", len(self.bad_files), self.skipped)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def export(self) -> Path:
        """Write the codec (EMA weights when kept) to EXP_DIR/model with `save_codec`."""
        path = self.exp_dir / "model"
        if self.dist.is_main:
            ema = None if self.ema is None else self.ema.state_dict()
            export_codec(ema_codec(self.codec, ema), path, self.step, ema=ema is not None)
            log.info("step %d: model written to %s", self.step, path)
        D.barrier()
        return path

    def close(self) -> None:
        """Flush TensorBoard, detach log handlers, leave the process group."""
        if self.tb is not None:
            self.tb.close()
        logger = logging.getLogger("codeckit")
        for h in self._handlers:
            logger.removeHandler(h)
            h.close()
        self._handlers = []
        D.cleanup()
