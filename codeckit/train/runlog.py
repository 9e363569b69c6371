"""A run's logs: EXP_DIR/train.log and the console (through tqdm, so a progress bar stays whole), and the
logged scalars as rows of EXP_DIR/metrics.jsonl and TensorBoard (rank 0 writes files, every rank keeps rows)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch


class _TqdmHandler(logging.Handler):
    """Log records through `tqdm.write`, so a progress bar is redrawn below them instead of torn."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        tqdm.write(self.format(record), file=sys.stderr)


class RunLog:
    """The `codeckit` logger's handlers for one run, its scalar rows (`history`) and its TensorBoard writer."""

    def __init__(self, exp_dir: Path, rank: int, is_main: bool):
        self.exp_dir, self.is_main = exp_dir, is_main
        self.tb: Any = None
        self.history: list[dict[str, float]] = []
        fmt = logging.Formatter(f"%(asctime)s [rank {rank}] %(levelname)s %(message)s")
        if is_main:
            exp_dir.mkdir(parents=True, exist_ok=True)
            self.handlers: list[logging.Handler] = [logging.FileHandler(exp_dir / "train.log"), _TqdmHandler()]
        else:
            self.handlers = [_TqdmHandler()]
            self.handlers[0].setLevel(logging.WARNING)
        logger = logging.getLogger("codeckit")
        logger.setLevel(logging.INFO)
        for h in self.handlers:
            h.setFormatter(fmt)
            logger.addHandler(h)

    def open_tensorboard(self, sample_rate: int) -> None:
        """Start writing EXP_DIR/tb (rank 0 only)."""
        if self.is_main:
            from codeckit.train.tblog import TBLogger

            self.tb = TBLogger(self.exp_dir / "tb", sample_rate)

    def row(self, row: dict[str, float]) -> None:
        """Keep one row of scalars (with its `step`); rank 0 also appends it to metrics.jsonl and TensorBoard."""
        self.history.append(row)
        if self.is_main:
            with open(self.exp_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
            self.tb.scalars({k: v for k, v in row.items() if k != "step"}, row["step"])

    def samples(self, real: torch.Tensor, fake: torch.Tensor, step: int) -> None:
        """Real and decoded audio, and their mel images, to TensorBoard (rank 0)."""
        if self.tb is not None:
            self.tb.samples(real, fake, step)

    def close(self) -> None:
        """Flush TensorBoard and detach the handlers."""
        if self.tb is not None:
            self.tb.close()
        logger = logging.getLogger("codeckit")
        for h in self.handlers:
            logger.removeHandler(h)
            h.close()
        self.handlers = []
