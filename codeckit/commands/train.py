"""`codeckit train --config CONF.yaml --exp-dir DIR`: train a codec (GAN) from a training config.

Runs the same on CPU, one GPU, or under `torchrun --nproc_per_node N` (DDP: gloo on CPU, NCCL on GPU).
Writes DIR/checkpoints, DIR/tb (TensorBoard), DIR/train.log, DIR/metrics.jsonl and, at the end, the
model directory DIR/model (config.yaml + model.safetensors).
"""

from __future__ import annotations

import argparse

from codeckit.commands import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Attach `train` to the top-level subparsers."""
    p = add_command(sub, "train", "train a codec from a config", __doc__, raw_help=True)
    p.add_argument("--config", required=True, help="training YAML (model, data, train, losses, discriminators)")
    p.add_argument("--exp-dir", required=True, help="experiment directory (checkpoints, logs, final model)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in EXP_DIR")
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop after this many steps (default train.max_steps; the LR schedule still follows train.max_steps)",
    )
    p.add_argument(
        "--model-at",
        type=int,
        metavar="STEP",
        default=None,
        help="do not train: write EXP_DIR/model_step_STEP from that step's checkpoint (to score it)",
    )
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (CUDA when available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train from the config (or resume); with --model-at, write that step's model directory and print its path."""
    from codeckit.train.config import load_training_config
    from codeckit.train.trainer import Trainer

    cfg = load_training_config(args.config)
    if args.model_at is not None:
        from codeckit.train.checkpoint import model_from_checkpoint

        print(model_from_checkpoint(cfg, args.exp_dir, args.model_at))
        return 0
    trainer = Trainer(cfg, args.exp_dir, device=args.device, resume=args.resume, max_steps=args.max_steps)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return 0
