"""The GAN trainer: one codec, any set of discriminators, resumable, the same on CPU, one GPU or under torchrun.

Per step: (1) the codec encodes, quantizes and decodes a batch of crops; (2) from
`train.disc_start_step` on, the discriminators learn real vs. decoded audio; (3) the codec learns from
reconstruction, quantizer, adversarial and feature-matching losses (weighted, or through EnCodec's
balancer). Non-finite losses or gradients skip the update; too many in a row stop the run.
"""

from __future__ import annotations

import logging
import math
import random
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
from codeckit.discriminators import Discriminators
from codeckit.errors import CodeckitError
from codeckit.fileio import write_text_atomic
from codeckit.train import distributed as D
from codeckit.train.adversary import STATE_KEYS, Adversary, build_adversary
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
from codeckit.train.objective import CodecObjective
from codeckit.train.runlog import RunLog
from codeckit.train.schedule import build_optimizer
from codeckit.train.speed import Compiled, autocast, autocast_device, set_threads
from codeckit.train.stateful import StateRegistry

log = logging.getLogger("codeckit.train")


class TrainingError(CodeckitError, RuntimeError):
    """Training cannot go on (repeated non-finite steps, an unusable experiment directory)."""


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
        self.runlog = RunLog(self.exp_dir, self.dist.rank, self.dist.is_main)
        self.history = self.runlog.history
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
        self.adversary: Adversary | None = build_adversary(config, self.codec.channels, self.sample_rate, self.device)
        adversarial = self.adversary is not None
        self.objective = CodecObjective(config.losses, self.sample_rate, self.device, adversarial, self.codec)
        self.opt_g, self.sched_g = build_optimizer([*self.codec.parameters(), *self.objective.parameters()], tc, tc.lr)
        self.ema = WeightEMA(self.codec, tc.ema_decay) if tc.ema_decay else None
        self._build_loader()
        self._wrap_modules()
        self.autocast_device = autocast_device(tc.precision, self.device)

        self.step = self.epoch = self.batch_in_epoch = self.nan_streak = 0
        self.bad_files: set[str] = set()
        self.skipped = 0
        self.stateful = self._register_state()
        torch.manual_seed(tc.seed + self.dist.rank)  # ranks differ in quantizer dropout and noise
        self._prepare_exp_dir(resume)
        self.runlog.open_tensorboard(self.sample_rate)

    # -- construction -------------------------------------------------------------------------
    @property
    def disc(self) -> Discriminators | None:
        """The discriminators (None in a run without them)."""
        return None if self.adversary is None else self.adversary.disc

    def _build_loader(self) -> None:
        data, multiple = self.cfg.data, self.codec.pad_multiple
        self.segment = max(multiple, int(data.segment_seconds * self.sample_rate) // multiple * multiple)
        self.loader, self.sampler = make_loader(
            data.train,
            self.sample_rate,
            self.segment,
            self.codec.channels,
            data.batch_size,
            data.num_workers,
            self.cfg.train.seed,
            self.dist.rank,
            self.dist.world_size,
        )

    def _wrap_modules(self) -> None:
        """What each forward pass calls: the modules under DDP and/or torch.compile when asked."""
        tc, adv = self.cfg.train, self.adversary
        self.gen: Any = self.codec
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.gen = DDP(self.codec, device_ids=ids, find_unused_parameters=tc.find_unused_parameters)
            if adv is not None:
                adv.distribute(ids)
            self.objective.distribute(ids)
        if tc.compile != "none":
            self.gen = Compiled(self.gen, "codec")
        if tc.compile == "all" and adv is not None:
            adv.compile()

    def _register_state(self) -> StateRegistry:
        """The checkpoint's keys in their saved order: counters, the codec and its optimizer, the adversary's
        parts, EMA, balancer, every rank's RNG states and the config."""
        s = StateRegistry()
        for name in ("step", "epoch", "batch_in_epoch", "nan_streak"):
            s.attribute(self, name)
        s.value("bad_files", lambda: sorted(self.bad_files), lambda saved: setattr(self, "bad_files", set(saved)))
        s.attribute(self, "skipped")
        for name, part in (("codec", self.codec), ("opt_g", self.opt_g), ("sched_g", self.sched_g)):
            s.part(name, part)
        if self.adversary is not None:
            s.extend(self.adversary.stateful)
        else:
            for name in STATE_KEYS:
                s.part(name, None)
        s.part("ema", self.ema)
        self.objective.register_state(s)
        s.value("rng", lambda: D.gather_objects(rng_state()), self._load_rng)
        s.value("config", self._config_yaml)
        return s

    def _config_yaml(self) -> str:
        return yaml.safe_dump(to_dict(self.cfg), sort_keys=False)

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
            write_text_atomic(self.exp_dir / "config.yaml", self._config_yaml())

    # -- checkpoints --------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly (RNG states of every rank included)."""
        return self.stateful.state()

    def save(self) -> None:
        """Write a checkpoint of this step (collective: every rank calls it); keeps the newest few."""
        state = self.state()
        if self.dist.is_main:
            path = save_checkpoint(self.ckpt_dir, self.step, state, self.cfg.train.keep_checkpoints)
            log.info("step %d: checkpoint %s", self.step, path)
        D.barrier()

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by `save` (same model, discriminators and optimizers)."""
        st = load_checkpoint(path)
        try:
            self.stateful.load(st, str(path))
        except (RuntimeError, KeyError, ValueError) as e:
            if isinstance(e, CheckpointError):
                raise
            raise CheckpointError(f"checkpoint {path} does not fit this config: {str(e).splitlines()[0]}") from None
        log.info("resumed from %s at step %d", path, self.step)

    def _load_rng(self, rngs: list[dict[str, Any]]) -> None:
        if len(rngs) == self.dist.world_size:
            set_rng_state(rngs[self.dist.rank])
            return
        log.warning("checkpoint saved with %d processes, now %d: RNG states reseeded", len(rngs), self.dist.world_size)
        torch.manual_seed(self.cfg.train.seed + self.step * 1000 + self.dist.rank)

    # -- one step -----------------------------------------------------------------------------
    def _autocast(self):
        return autocast(self.autocast_device)

    def train_step(self, audio: torch.Tensor) -> dict[str, float]:
        """One discriminator + codec update on `audio (B, C, T)`; returns the logged scalars."""
        adv = self.adversary if self.adversary is not None and self.adversary.active(self.step) else None
        self.codec.train()
        with self._autocast():
            out = self.gen(audio)
        fake = out.audio.float()
        metrics: dict[str, float] = {}
        d_ok = True
        if adv is not None:
            crops = self._disc_crop(audio, fake)
            d_ok, metrics = adv.update(*crops)
        terms = self.objective.reconstruction_terms(fake, audio)
        if adv is not None:
            terms.update(adv.generator_terms(*crops))
        self.opt_g.zero_grad(set_to_none=True)
        total = self.objective.backward(terms, out.losses, fake)
        g_norm = nn.utils.clip_grad_norm_(self.codec.parameters(), self.cfg.train.grad_clip or math.inf)
        g_ok = D.all_finite(self.device, total, g_norm)
        if g_ok and d_ok:
            self._apply(adv)
        else:
            self._skip("codec loss/gradients" if not g_ok else "discriminator loss/gradients", total, g_norm)
        metrics.update(self._step_metrics(total, terms, out, g_norm))
        self._last = (audio, fake)
        return metrics

    def _disc_crop(self, audio: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The window of real and decoded audio the discriminators see (`Adversary.crop`)."""
        return self.adversary.crop(audio, fake)

    def _apply(self, adv: Adversary | None) -> None:
        """Take the codec's update and advance the LR schedules (a skipped step advances neither)."""
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.codec)
        self.nan_streak = 0
        self.sched_g.step()
        if adv is not None:
            adv.sched.step()

    def _skip(self, what: str, total: torch.Tensor, g_norm: torch.Tensor) -> None:
        """Drop the codec's update after non-finite `what`; too many in a row stop the run."""
        self.opt_g.zero_grad(set_to_none=True)
        self.nan_streak += 1
        log.warning(
            "step %d: non-finite %s (loss %s, grad norm %s); update skipped (%d in a row)",
            self.step + 1,
            what,
            float(total.detach()),
            float(g_norm),
            self.nan_streak,
        )
        if self.nan_streak >= self.cfg.train.max_nan_steps:
            raise TrainingError(
                f"training stopped at step {self.step + 1}: {self.nan_streak} steps in a row had non-finite "
                f"{what}; lower train.lr, raise train.warmup_steps or set train.grad_clip"
            )

    def _step_metrics(
        self, total: torch.Tensor, terms: dict[str, torch.Tensor], out: Any, g_norm: torch.Tensor
    ) -> dict[str, float]:
        """The codec side's logged scalars: losses, gradient norm, learning rates, codebook stats."""
        metrics = {"loss/total": float(total.detach())}
        metrics.update({f"loss/{k}": float(v.detach()) for k, v in terms.items()})
        metrics.update({f"loss/quantizer/{k}": float(v.detach()) for k, v in out.losses.items()})
        metrics["grad_norm/codec"] = float(g_norm)
        metrics["lr/codec"] = self.opt_g.param_groups[0]["lr"]
        if self.adversary is not None:
            metrics["lr/discriminator"] = self.adversary.lr()
        for k, v in out.stats.items():
            if torch.is_tensor(v) and v.numel() == 1 or isinstance(v, (int, float)):
                metrics[f"codebook/{k}"] = float(v)
        if self.objective.balancer is not None:
            for k, v in self.objective.balancer.last_norms.items():
                metrics[f"balancer/grad_norm/{k}"] = v
        return metrics

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
        self.runlog.row(row)

    def fit(self) -> list[dict[str, float]]:
        """Train until `max_steps` (or `--max-steps`), checkpointing and logging; export the model at the end."""
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
        bar = self._progress_bar()
        self._rate_mark = (time.perf_counter(), self.step)
        try:
            while self.step < self.stop_step:
                self._run_epoch(bar)
            if self.step % self.cfg.train.checkpoint_every != 0:
                self.save()
            self.export()
            if self.skipped:
                log.warning("%d bad files skipped (%d reads)", len(self.bad_files), self.skipped)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def _progress_bar(self) -> Any:
        """A tqdm bar on rank 0 when `train.progress` is on, else None."""
        if not (self.dist.is_main and self.cfg.train.progress):
            return None
        from tqdm import tqdm

        return tqdm(total=self.stop_step, initial=self.step, desc="train", dynamic_ncols=True)

    def _run_epoch(self, bar: Any) -> None:
        """Train on the rest of this epoch's batches, or up to the stop step."""
        self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
        for batch in self.loader:
            if batch.bad:
                self._note_bad(batch.bad)
            metrics = self.train_step(batch.audio.to(self.device, non_blocking=True))
            self.step += 1
            self.batch_in_epoch += 1
            self._after_step(metrics, bar)
            if self.step >= self.stop_step:
                return
        self.epoch += 1
        self.batch_in_epoch = 0

    def _after_step(self, metrics: dict[str, float], bar: Any) -> None:
        """Progress bar, logged scalars (with the speed since the last row), audio samples and checkpoints."""
        tc = self.cfg.train
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{metrics['loss/total']:.4g}", refresh=False)
        if self.step % tc.log_every == 0 or self.step == self.stop_step:
            t0, s0 = self._rate_mark
            dt = time.perf_counter() - t0
            rate = (self.step - s0) / dt if dt > 0 else 0.0
            audio_per_step = self.segment * self.cfg.data.batch_size * self.dist.world_size / self.sample_rate
            self._log(metrics, (rate, rate * audio_per_step))
            self._rate_mark = (time.perf_counter(), self.step)
        if tc.sample_every and self.step % tc.sample_every == 0:
            self.runlog.samples(*self._last, self.step)
        if self.step % tc.checkpoint_every == 0:
            self.save()

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
        self.runlog.close()
        D.cleanup()
