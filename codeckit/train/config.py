"""The training config: one YAML file with sections `model:`, `data:`, `train:`, `losses:`, `discriminators:`.

Read strictly with `codeckit.config` (an unknown, missing or mistyped key is a ConfigError naming
key and file). `model:` is the codec's own `CodecConfig`, saved unchanged into the final model dir.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from codeckit.codecs.base import CodecConfig
from codeckit.config import from_dict, read_yaml


@dataclass
class DataConfig:
    """`data:` where the training audio comes from and how it is cut into batches."""

    train: str  # Kaldi-style list: one `utt-id path` per line (paths relative to the working directory)
    segment_seconds: float = 1.0  # random crop length; rounded down to the codec's pad multiple
    batch_size: int = 8  # per process
    num_workers: int = 2  # DataLoader worker processes (0: load in the training process)
    max_bad_files: int = 100  # stop with an error once this many distinct files could not be read

    def __post_init__(self):
        if self.segment_seconds <= 0:
            raise ValueError(f"data.segment_seconds must be > 0, got {self.segment_seconds}")
        if self.batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {self.batch_size}")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {self.num_workers}")


@dataclass
class TrainSection:
    """`train:` optimisation, schedule, guards, checkpoints and logging."""

    max_steps: int = 100_000  # total steps; the LR schedule spans these (`--max-steps` only stops earlier/later)
    seed: int = 1234
    optimizer: Literal["adamw", "adam"] = "adamw"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.0
    disc_lr: float | None = None  # discriminator learning rate; default: `lr`
    warmup_steps: int = 0  # linear warmup from 0
    lr_decay: Literal["constant", "cosine", "linear", "exponential"] = "exponential"
    lr_gamma: float = 0.999996  # per-step factor for exponential decay (DAC)
    min_lr_ratio: float = 0.0  # floor of cosine / linear decay, as a fraction of lr
    grad_clip: float | None = 1000.0  # max total grad norm of the codec (None: no clipping)
    disc_grad_clip: float | None = 10.0
    max_nan_steps: int = 10  # stop after this many non-finite steps in a row
    disc_start_step: int = 0  # discriminators (and adversarial losses) join from this step
    disc_segment_seconds: float | None = None  # discriminators see one random crop this long (None: all)
    ema_decay: float | None = None  # keep an EMA of the codec weights and export it when set
    # bf16: bfloat16 autocast on CUDA, fp32 on the CPU; bf16_cpu: bfloat16 autocast on the CPU too; fp32: none
    precision: Literal["fp32", "bf16", "bf16_cpu"] = "bf16"
    compile: Literal["none", "codec", "all"] = "none"  # torch.compile the codec, or codec and discriminators
    num_threads: int | None = None  # torch intra-op threads of each process (None: torch's default)
    num_interop_threads: int | None = None  # torch inter-op threads (None: torch's default)
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 50  # scalars to TensorBoard and metrics.jsonl
    sample_every: int = 1000  # audio samples and mel images to TensorBoard (0: never)
    progress: bool = True  # tqdm progress bar on rank 0
    find_unused_parameters: bool = True  # DDP: needed when quantizer dropout leaves levels unused

    def __post_init__(self):
        for key in ("max_steps", "checkpoint_every", "keep_checkpoints", "log_every", "max_nan_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.disc_segment_seconds is not None and self.disc_segment_seconds <= 0:
            raise ValueError(f"train.disc_segment_seconds must be > 0, got {self.disc_segment_seconds}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"train.ema_decay must be in (0, 1), got {self.ema_decay}")
        if self.precision not in ("fp32", "bf16", "bf16_cpu"):
            raise ValueError(f"train.precision must be one of fp32, bf16, bf16_cpu, got {self.precision!r}")
        if self.compile not in ("none", "codec", "all"):
            raise ValueError(f"train.compile must be one of none, codec, all, got {self.compile!r}")
        for key in ("num_threads", "num_interop_threads"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1 (or unset), got {getattr(self, key)}")


@dataclass
class DistillConfig:
    """`losses.distill:` SpeechTokenizer's semantic distillation of quantizer level 1 (codeckit/losses/distill.py)."""

    teacher: dict[str, Any]  # an encoder config, e.g. {name: mfcc}; built frozen from the encoder registry
    weight: float = 1.0
    axis: Literal["d", "t"] = "d"  # cosine over time per dimension (SpeechTokenizer's D-axis) or per frame
    teacher_sample_rate: int | None = None  # the rate the teacher takes (audio resampled to it); None: the codec's

    def __post_init__(self):
        if "name" not in self.teacher:
            raise ValueError("losses.distill.teacher needs a 'name' (an encoder, e.g. mfcc)")
        if self.weight < 0:
            raise ValueError(f"losses.distill.weight must be >= 0, got {self.weight}")


@dataclass
class LossesConfig:
    """`losses:` what the codec is trained on, and how the terms are weighted."""

    # each `{name: l1|mel|mrstft, weight: W, **kwargs}`; kwargs go to the loss (sample_rate is filled in)
    reconstruction: list[dict[str, Any]] = field(
        default_factory=lambda: [{"name": "mel", "weight": 15.0}, {"name": "l1", "weight": 0.1}]
    )
    adversarial: Literal["hinge", "lsgan"] = "hinge"
    adversarial_weight: float = 1.0
    feature_matching_weight: float = 2.0
    feature_matching_relative: bool = False  # divide each layer's L1 by mean |real feature| (EnCodec)
    quantizer_weights: dict[str, float] = field(default_factory=dict)  # per quantizer loss key, e.g. commitment
    quantizer_default_weight: float = 1.0  # for quantizer loss keys not in quantizer_weights
    balancer: bool = False  # EnCodec's gradient balancer over reconstruction + adversarial + feature losses
    balancer_ema_decay: float = 0.999
    distill: DistillConfig | None = None  # semantic distillation of quantizer level 1 towards a teacher

    def __post_init__(self):
        for i, spec in enumerate(self.reconstruction):
            if "name" not in spec:
                raise ValueError(f"losses.reconstruction[{i}] needs a 'name' (l1, mel, mrstft)")
            if not isinstance(spec.get("weight", 1.0), (int, float)):
                raise ValueError(f"losses.reconstruction[{i}].weight must be a number")
        if not self.reconstruction:
            raise ValueError("losses.reconstruction needs at least one loss")

    def reconstruction_names(self) -> list[str]:
        """The logged name of each reconstruction loss, in order: its `name`, with `_<index>` when repeated."""
        names: list[str] = []
        for i, spec in enumerate(self.reconstruction):
            name = spec["name"]
            names.append(f"{name}_{i}" if name in names else name)
        return names

    def weights(self, adversarial: bool) -> LossWeights:
        """Every loss weight in one table (DAC's `lambdas`), from this section's weight fields; `adversarial`
        adds the discriminator-side terms."""
        table = {n: float(s.get("weight", 1.0)) for n, s in zip(self.reconstruction_names(), self.reconstruction)}
        if adversarial:
            table["adversarial"] = self.adversarial_weight
            table["feature_matching"] = self.feature_matching_weight
        table.update({QUANTIZER + k: w for k, w in self.quantizer_weights.items()})
        if self.distill is not None:
            table[DISTILL] = self.distill.weight
        return LossWeights(table, self.quantizer_default_weight)


QUANTIZER = "quantizer/"  # name prefix of the quantizer's losses in `LossWeights`
DISTILL = "distill"  # the distillation term: on the latents, not the decoded audio (never balanced)


@dataclass(frozen=True)
class LossWeights:
    """Loss name -> weight: reconstruction losses, `adversarial`, `feature_matching` and `quantizer/<key>`;
    a quantizer key the table lacks gets `quantizer_default` (quantizers name their own losses)."""

    table: dict[str, float]
    quantizer_default: float = 1.0

    def __getitem__(self, name: str) -> float:
        """The weight of loss `name` (a KeyError for an unknown loss that is not the quantizer's)."""
        if name not in self.table and name.startswith(QUANTIZER):
            return self.quantizer_default
        return self.table[name]

    def balanced(self) -> dict[str, float]:
        """The weights of the losses on the decoded audio (all but the quantizer's and distillation's), which the
        balancer shares."""
        return {k: w for k, w in self.table.items() if not k.startswith(QUANTIZER) and k != DISTILL}


@dataclass
class TrainingConfig:
    """The whole training config file."""

    model: CodecConfig
    data: DataConfig
    train: TrainSection = field(default_factory=TrainSection)
    losses: LossesConfig = field(default_factory=LossesConfig)
    # each `{name: mpd|msd|msstft|mrd|mrsd, **kwargs}`; empty: no GAN, reconstruction losses only
    discriminators: list[dict[str, Any]] = field(default_factory=list)


def load_training_config(path: str | os.PathLike) -> TrainingConfig:
    """Read and check a training YAML file."""
    data = read_yaml(path)
    return from_dict(TrainingConfig, {} if data is None else data, source=str(path))


def training_config_from_dict(data: dict[str, Any], source: str = "<dict>") -> TrainingConfig:
    """Check a training config given as a mapping (tests, programmatic runs)."""
    return from_dict(TrainingConfig, data, source=source)
