"""The recipes: scripts parse, options and help work, configs load, and finished stages are skipped."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from codeckit.train.config import load_training_config

ROOT = Path(__file__).resolve().parents[2]
EGS = ROOT / "egs"
RECIPES = sorted(p.parent for p in EGS.glob("*/*/run.sh"))
CONFS = sorted(EGS.glob("*/*/conf/*.yaml"))


def run(cmd: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def test_the_expected_recipes_exist():
    names = {f"{p.parent.name}/{p.name}" for p in RECIPES}
    assert {"synth_speech/codec", "libritts/codec", "ljspeech/codec", "vctk/codec"} <= names


@pytest.mark.parametrize("script", [*(r / "run.sh" for r in RECIPES), *sorted((EGS / "utils").glob("*.sh"))])
def test_scripts_parse(script: Path):
    res = run(["bash", "-n", str(script)], script.parent)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.parent.name)
def test_recipe_layout_help_and_unknown_option(recipe: Path):
    for name in ("path.sh", "cmd.sh", "utils/parse_options.sh", "utils/run.pl"):
        assert (recipe / name).exists(), name
    res = run(["bash", "run.sh", "--help"], recipe)
    assert res.returncode == 0 and "--stage" in res.stdout
    res = run(["bash", "run.sh", "--no-such-option", "1"], recipe)
    assert res.returncode == 1 and "unknown option '--no-such-option'" in res.stderr
    res = run(["sh", "run.sh"], recipe)
    assert res.returncode == 1 and "bash" in res.stderr


@pytest.mark.parametrize("conf", CONFS, ids=lambda p: f"{p.parents[2].name}/{p.name}")
def test_training_configs_load_and_read_the_recipe_lists(conf: Path):
    cfg = load_training_config(conf)
    if conf.name.endswith("_natural.yaml"):  # an ablation on the natural corpus, made by run.sh --corpus natural
        assert cfg.data.train == "../db/synth_full_natural/16k/train/wav.scp"
    elif conf.name.endswith("_natural_clean.yaml"):  # the same voices clean: codeckit corpus synth --augment 0
        assert cfg.data.train == "../db/synth_full_natural_clean/16k/train/wav.scp"
    else:
        assert cfg.data.train == "data/train/wav.scp"
    assert cfg.model.sample_rate in (16000, 24000)


@pytest.mark.parametrize("conf", CONFS, ids=lambda p: f"{p.parents[2].name}/{p.name}")
def test_training_configs_build_their_codec(conf: Path, tmp_path: Path):
    from dataclasses import asdict

    import torch

    from codeckit.codecs import build_codec
    from codeckit.quantizers.centroids import write_centroids

    cfg = load_training_config(conf)
    model = asdict(cfg.model)
    if "centroids" in model["quantizer"]:  # k-means units fit by the recipe's stage 1: random centres of that size
        q = model["quantizer"]
        q["centroids"] = str(write_centroids(tmp_path / "km.safetensors", torch.randn(q["n_units"], q["dim"])))
    codec = build_codec(model)
    assert codec.sample_rate == cfg.model.sample_rate
    if conf.name in ("fast.yaml", "cpu.yaml"):  # the CPU configs aim at 2 kbps or less
        assert codec.bitrate() <= 2000


def test_default_config_is_small_and_fast():
    cfg = load_training_config(EGS / "synth_speech/codec/conf/fast.yaml")
    assert cfg.train.max_steps <= 2000 and not cfg.discriminators


def _scratch_recipe(tmp_path: Path) -> Path:
    """A recipe folder outside the checkout: path.sh points back at this checkout."""
    r = tmp_path / "recipe"
    (r / "conf").mkdir(parents=True)
    (r / "utils").symlink_to(EGS / "utils")
    (r / "path.sh").write_text(f'CODECKIT_ROOT="{ROOT}"\n. "$CODECKIT_ROOT/egs/utils/path.sh"\n')
    shutil.copy(EGS / "synth_speech/codec/cmd.sh", r / "cmd.sh")
    shutil.copy(EGS / "synth_speech/codec/conf/fast.yaml", r / "conf/fast.yaml")
    return r


def test_finished_stages_are_skipped_and_results_shown(tmp_path: Path):
    r = _scratch_recipe(tmp_path)
    exp = r / "exp/fast"
    (exp / "model").mkdir(parents=True)
    (exp / "bench").mkdir()
    (exp / "model/model.safetensors").write_bytes(b"")
    (exp / "bench/leaderboard.md").write_text("| codec | kbps |\n| fast | 2.0 |\n")
    (r / "data/test").mkdir(parents=True)
    (r / "data/test/wav.scp").write_text("utt1 /data/utt1.wav\n")
    key = hashlib.sha1(b"utt1 /data/utt1.wav\n").hexdigest()[:16]  # test list + (empty) model weights
    for s in ("train", "export"):
        (exp / f".done.{s}").touch()
    (exp / ".done.tokenize").write_text(key + "\n")
    (exp / ".done.bench").write_text(key + " opus:6000 opus:10000 codec2:1300 codec2:3200\n")
    args = ["bash", "utils/codec_stages.sh", "--conf", "conf/fast.yaml", "--exp", "exp/fast"]
    res = run(args, r)
    assert res.returncode == 0, res.stderr
    for n in (2, 3, 4, 5):
        assert f"stage {n}:" in res.stdout and "skipping" in res.stdout
    assert "| fast | 2.0 |" in res.stdout
    assert "results: exp/fast/bench" in res.stdout
    assert not (exp / "log/train.log").exists()  # nothing ran
    # comments do not change what the config says
    (r / "conf/fast.yaml").write_text("# a new comment\n" + (r / "conf/fast.yaml").read_text())
    assert run(args, r).returncode == 0

    # a changed test list redoes stage 4 (here it fails: the listed file does not exist) instead of skipping
    (exp / "tokens/test").mkdir(parents=True)
    (exp / "tokens/test/old.tokens.safetensors").write_bytes(b"")
    (r / "data/test/wav.scp").write_text("utt2 /data/utt2.wav\n")
    res = run(args + ["--stage", "4"], r)
    assert "tokenize: the test set or the model changed since it ran, redoing it" in res.stdout
    assert "stage 4: tokenizing" in res.stdout and res.returncode != 0
    assert not (exp / "tokens/test/old.tokens.safetensors").exists()

    # the experiment is tied to its config: another config in the same folder is refused
    conf_text = (r / "conf/fast.yaml").read_text()
    changed = re.sub(r"(?m)^(\s*max_steps:\s*)\d+", r"\g<1>10", conf_text)
    assert changed != conf_text  # the config must really change for the refusal to be tested
    (r / "conf/fast.yaml").write_text(changed)
    res = run(args, r)
    assert res.returncode == 1 and "another version of conf/fast.yaml" in res.stderr


def test_stage_range_is_respected(tmp_path: Path):
    r = _scratch_recipe(tmp_path)
    res = run(["bash", "utils/codec_stages.sh", "--conf", "conf/fast.yaml", "--exp", "exp/x", "--stage", "6"], r)
    assert res.returncode == 0, res.stderr
    assert "stage" not in res.stdout


def test_missing_config_fails_clearly(tmp_path: Path):
    r = _scratch_recipe(tmp_path)
    res = run(["bash", "utils/codec_stages.sh", "--conf", "conf/none.yaml", "--exp", "exp/x"], r)
    assert res.returncode == 1 and "conf/none.yaml not found" in res.stderr
