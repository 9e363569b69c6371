"""`python train_driver.py MODE STEP CONFIG EXP_DIR`: `codeckit train` with a SIGKILL injected (fault injection).

MODE `mid_step`: the process kills itself inside step STEP, after the forward and backward passes and the
discriminator update, when the codec's optimizer would apply the update. MODE `mid_save`: it kills itself
while the checkpoint of step STEP is being written: the file is half written (cut to half its size) under
its temporary name, and never renamed. Either way nothing after the kill runs: no `finally`, no flush.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

import codeckit.train.checkpoint as checkpoint
from codeckit.cli import main
from codeckit.train.trainer import Trainer


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def kill_mid_step(step: int) -> None:
    train_step = Trainer.train_step

    def patched(self, audio):
        if self.step + 1 == step:
            self.opt_g.step = lambda *a, **k: die()
        return train_step(self, audio)

    Trainer.train_step = patched


def kill_mid_save(step: int) -> None:
    save_file = checkpoint.save_file

    def patched(tensors, path, metadata=None):
        save_file(tensors, path, metadata=metadata)
        if f"step_{step:08d}" in Path(path).name:
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                f.truncate(size // 2)
            die()

    checkpoint.save_file = patched


if __name__ == "__main__":
    mode, step, config, exp_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    {"mid_step": kill_mid_step, "mid_save": kill_mid_save}[mode](step)
    sys.exit(main(["train", "--config", config, "--exp-dir", exp_dir, "--device", "cpu"]))
