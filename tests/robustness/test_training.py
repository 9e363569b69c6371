"""Training faults: SIGKILL mid-step and mid-checkpoint-save then `--resume` (the run continues at the exact step
with the exact losses; a half-written checkpoint is never visible), a damaged newest checkpoint (the one before
is used, with a warning), a NaN learning rate, and empty, missing or unreadable data lists: each a one-line
error, never a traceback."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from robustness_helpers import HERE, assert_clean_error, cli, run_script

from codeckit.codecs import load_codec
from codeckit.configs import model_config
from codeckit.train.config import training_config_from_dict
from codeckit.train.trainer import Trainer

STEPS = 4  # checkpoints at 2 and 4


def write_data(directory: Path, n: int = 4, sr: int = 16000) -> Path:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        t = np.arange(int(0.2 * sr)) / sr
        x = 0.3 * np.sin(2 * np.pi * rng.uniform(120, 400) * t) + 0.01 * rng.standard_normal(len(t))
        sf.write(directory / f"u{i}.wav", x.astype(np.float32), sr)
        lines.append(f"u{i} {directory / f'u{i}.wav'}")
    (directory / "wav.scp").write_text("\n".join(lines) + "\n")
    return directory / "wav.scp"


def tiny_config(scp: Path, **train) -> dict:
    """dac_tiny, 0.1 s crops of 2 files a step, a little GAN from step 1, a checkpoint every 2 steps."""
    return {
        "model": model_config("dac_tiny")["model"],
        "data": {"train": str(scp), "segment_seconds": 0.1, "batch_size": 2, "num_workers": 0},
        "train": {"max_steps": STEPS, "lr": 1e-3, "lr_decay": "constant", "disc_start_step": 1, "log_every": 1,
                  "checkpoint_every": 2, "keep_checkpoints": 3, "sample_every": 0, "progress": False, **train},
        "losses": {"reconstruction": [{"name": "l1", "weight": 1.0}], "adversarial": "lsgan",
                   "adversarial_weight": 0.1, "feature_matching_weight": 0.2},
        "discriminators": [{"name": "mpd", "periods": [2], "base_channels": 2, "max_channels": 4}],
    }  # fmt: skip


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory, torch_threads):
    """(config path, config dict, reference history by step, reference exp dir): one uninterrupted run."""
    root = tmp_path_factory.mktemp("train")
    cfg = tiny_config(write_data(root / "data"))
    conf = write_config(root / "train.yaml", cfg)
    with torch_threads(1):
        trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), root / "ref", device="cpu")
        try:
            history = trainer.fit()
        finally:
            trainer.close()
    return conf, cfg, {r["step"]: r for r in history}, root / "ref"


def _rows(exp: Path) -> dict[int, dict]:
    """metrics.jsonl by step, the last row written for each step (a killed run's rows come first)."""
    rows = {}
    for line in (exp / "metrics.jsonl").read_text().splitlines():
        rows[json.loads(line)["step"]] = json.loads(line)
    return rows


def _same_model(a: Path, b: Path) -> bool:
    wa, wb = load_codec(a / "model").state_dict(), load_codec(b / "model").state_dict()
    return all(torch.equal(wa[k], wb[k]) for k in wa)


def _visible(exp: Path) -> list[str]:
    return sorted(p.name for p in (exp / "checkpoints").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("mode, kill_at, resumes_from", [("mid_step", 3, 2), ("mid_save", 4, 2)])
def test_sigkill_then_resume_continues_exactly(capsys, setup, tmp_path, mode, kill_at, resumes_from):
    conf, _, ref, ref_exp = setup
    exp = tmp_path / "exp"
    proc = run_script(HERE / "train_driver.py", mode, str(kill_at), str(conf), str(exp), timeout=300)
    assert proc.returncode == -9, proc.stderr[-3000:]  # SIGKILL
    assert _visible(exp) == [f"step_{resumes_from:08d}.safetensors"]  # the half-written one is not visible
    if mode == "mid_save":
        assert list((exp / "checkpoints").glob(".step_00000004.*")), "the injected half-written temporary file"
    o = cli(capsys, "train", "--config", conf, "--exp-dir", exp, "--device", "cpu")
    assert_clean_error(o, "--resume")  # an exp dir with checkpoints is never silently restarted
    torch.set_num_threads(1)
    o = cli(capsys, "train", "--config", conf, "--exp-dir", exp, "--resume", "--device", "cpu")
    assert o.rc == 0, o.err
    rows = _rows(exp)
    for step in range(resumes_from + 1, STEPS + 1):
        assert rows[step]["loss/total"] == ref[step]["loss/total"], (step, rows[step], ref[step])
        assert rows[step]["loss/discriminator"] == ref[step]["loss/discriminator"], step
    assert _same_model(exp, ref_exp)
    assert _visible(exp) == ["step_00000002.safetensors", "step_00000004.safetensors"]
    assert not list((exp / "checkpoints").glob(".*")), "stale temporary checkpoint left behind"
    assert (
        f"resumed from {exp / 'checkpoints' / f'step_{resumes_from:08d}.safetensors'}"
        in (exp / "train.log").read_text()
    )


@pytest.mark.parametrize("damage", ["truncated", "zeroed", "empty", "not_a_checkpoint"])
def test_damaged_newest_checkpoint_falls_back_with_a_warning(capsys, setup, tmp_path, damage):
    conf, _, ref, ref_exp = setup
    exp = tmp_path / "exp"
    shutil.copytree(ref_exp, exp)
    shutil.rmtree(exp / "model")
    newest = exp / "checkpoints" / "step_00000004.safetensors"
    data = newest.read_bytes()
    if damage == "truncated":
        newest.write_bytes(data[: len(data) * 3 // 4])
    elif damage == "zeroed":
        newest.write_bytes(b"\0" * len(data))
    elif damage == "empty":
        newest.write_bytes(b"")
    else:
        from safetensors.torch import save_file

        save_file({"x": torch.zeros(2)}, str(newest))
    (exp / "metrics.jsonl").write_text("")
    torch.set_num_threads(1)
    o = cli(capsys, "train", "--config", conf, "--exp-dir", exp, "--resume", "--device", "cpu")
    assert o.rc == 0, o.err
    assert "Traceback" not in o.err
    log = (exp / "train.log").read_text()
    assert "step_00000004.safetensors" in log and "falling back" in log
    rows = _rows(exp)
    assert sorted(rows) == [3, 4]
    for step in (3, 4):
        assert rows[step]["loss/total"] == ref[step]["loss/total"], step
    assert _same_model(exp, ref_exp)


def test_every_checkpoint_damaged_is_one_error(capsys, setup, tmp_path):
    conf, _, _, ref_exp = setup
    exp = tmp_path / "exp"
    shutil.copytree(ref_exp / "checkpoints", exp / "checkpoints")
    for p in (exp / "checkpoints").iterdir():
        p.write_bytes(p.read_bytes()[:100])
    o = cli(capsys, "train", "--config", conf, "--exp-dir", exp, "--resume", "--device", "cpu")
    assert_clean_error(o, "every checkpoint", "damaged")


def _bad_config(kind: str, cfg: dict, root: Path) -> dict:
    cfg = copy.deepcopy(cfg)
    if kind == "nan_lr":
        cfg["train"]["lr"] = float("nan")
    elif kind == "inf_lr":
        cfg["train"]["lr"] = float("inf")
    elif kind == "negative_lr":
        cfg["train"]["lr"] = -1.0
    elif kind == "lr_string":
        cfg["train"]["lr"] = "1e-3"  # YAML reads 1e-3 without a dot as a string
    elif kind == "nan_disc_lr":
        cfg["train"]["disc_lr"] = float("nan")
    elif kind == "empty_data_list":
        (root / "empty.scp").write_text("\n# nothing\n")
        cfg["data"]["train"] = str(root / "empty.scp")
    elif kind == "missing_data_list":
        cfg["data"]["train"] = str(root / "nope.scp")
    elif kind == "data_list_a_directory":
        cfg["data"]["train"] = str(root)
    elif kind == "unreadable_files_in_workers":
        bad = root / "bad"
        bad.mkdir()
        lines = []
        for i in range(4):
            (bad / f"b{i}.wav").write_text("not audio")
            lines.append(f"b{i} {bad / f'b{i}.wav'}")
        (bad / "wav.scp").write_text("\n".join(lines) + "\n")
        cfg["data"]["train"] = str(bad / "wav.scp")
        cfg["data"]["num_workers"] = 1
    elif kind == "unknown_key":
        cfg["train"]["learning_rate"] = 1e-3
    elif kind == "model_wrong_type":
        cfg["model"]["encoder"]["dim"] = "8"
    else:
        raise AssertionError(kind)
    return cfg


BAD_CONFIGS = {
    "nan_lr": ["train.lr", "finite"],
    "inf_lr": ["train.lr", "finite"],
    "negative_lr": ["train.lr must be > 0"],
    "lr_string": ["train.lr", "should be float"],
    "nan_disc_lr": ["train.disc_lr"],
    "empty_data_list": ["has no entries"],
    "missing_data_list": ["data list not found"],
    "data_list_a_directory": ["data list not found"],
    "unreadable_files_in_workers": ["files in a row could not be read"],
    "unknown_key": ["unknown key 'train.learning_rate'"],
    "model_wrong_type": ["key 'dim'", "'8'"],
}


@pytest.mark.parametrize("kind", list(BAD_CONFIGS))
def test_bad_training_setup_is_one_line(capsys, setup, tmp_path, kind):
    _, cfg, _, _ = setup
    conf = write_config(tmp_path / "bad.yaml", _bad_config(kind, cfg, tmp_path))
    o = cli(capsys, "train", "--config", conf, "--exp-dir", tmp_path / "exp", "--device", "cpu")
    assert_clean_error(o, *BAD_CONFIGS[kind])
    assert "Original Traceback" not in o.err
    assert not (tmp_path / "exp" / "checkpoints").exists() or not any((tmp_path / "exp" / "checkpoints").iterdir())
