"""The trainer on a tiny real codec (dac_tiny) and generated audio: learning, export, bad files,
exact resume, the NaN guard, config errors and the CLI."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from codeckit.cli import main
from codeckit.codecs import load_codec
from codeckit.configs import model_config
from codeckit.errors import ConfigError
from codeckit.train.config import load_training_config, training_config_from_dict
from codeckit.train.trainer import Trainer, TrainingError


def fit(cfg: dict, exp, **kw) -> list[dict]:
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), exp, device="cpu", **kw)
    try:
        return trainer.fit()
    finally:
        trainer.close()


def test_training_learns_exports_and_skips_bad_files(tmp_path, corpus, tiny_config):
    torch.set_num_threads(1)
    scp = tmp_path / "wav.scp"
    bad = tmp_path / "not_audio.wav"
    bad.write_text("this is not a wav file\n")
    scp.write_text(corpus.read_text() + f"bad01 {bad}\n")
    exp = tmp_path / "exp"
    hist = fit(tiny_config(scp), exp)

    assert [r["step"] for r in hist] == list(range(1, 31))
    mel = [r["loss/mel"] for r in hist]
    assert sum(mel[-5:]) / 5 < 0.8 * sum(mel[:5]) / 5, mel
    assert "loss/discriminator" not in hist[19] and "loss/discriminator" in hist[20]  # GAN from step 20
    assert any(k.startswith("codebook/") for k in hist[-1])  # the quantizer's stats reach the logs
    log = (exp / "train.log").read_text()
    assert f"skipping bad file {bad}" in log
    assert hist[-1]["data/bad_files"] == 1 and hist[-1]["data/skipped_reads"] >= 1
    assert log.count("skipping bad file") == 1  # warned once, counted every time
    assert sorted(p.name for p in (exp / "checkpoints").iterdir()) == [
        "step_00000020.safetensors",
        "step_00000030.safetensors",
    ]
    assert len((exp / "metrics.jsonl").read_text().splitlines()) == 30
    assert any((exp / "tb").iterdir())

    codec = load_codec(exp / "model")
    audio = torch.randn(1, 1, 3200) * 0.1
    codes = codec.encode(audio)
    assert codec.decode(codes, length=3200).shape == (1, 1, 3200)


def test_resume_is_exact(tmp_path, corpus, tiny_config):
    torch.set_num_threads(1)
    cfg = tiny_config(corpus, max_steps=4, checkpoint_every=2, disc_start_step=1, ema_decay=0.9)
    full = fit(cfg, tmp_path / "a")
    fit(cfg, tmp_path / "b", max_steps=2)
    with pytest.raises(TrainingError, match="--resume"):
        fit(cfg, tmp_path / "b")
    resumed = fit(cfg, tmp_path / "b", resume=True)
    assert [r["step"] for r in resumed] == [3, 4]
    for a, b in zip(full[2:], resumed):
        assert a["loss/total"] == b["loss/total"] and a["loss/discriminator"] == b["loss/discriminator"]
    wa = load_codec(tmp_path / "a" / "model").state_dict()
    wb = load_codec(tmp_path / "b" / "model").state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def _nan_on(steps):
    calls = {"n": 0}

    def hook(module, inputs, output):
        calls["n"] += 1
        return output * float("nan") if calls["n"] in steps else output

    return hook


def test_nan_guard_skips_then_stops(tmp_path, corpus, tiny_config):
    torch.set_num_threads(1)
    cfg = tiny_config(corpus, max_steps=3, max_nan_steps=2, disc_start_step=0)
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "a", device="cpu")
    try:
        trainer.codec.decoder.register_forward_hook(_nan_on({2}))
        before = {k: v.clone() for k, v in trainer.codec.state_dict().items()}
        batch = next(iter(trainer.loader)).audio
        trainer.train_step(batch)  # a normal step changes the weights
        after_ok = {k: v.clone() for k, v in trainer.codec.state_dict().items()}
        assert any(not torch.equal(before[k], after_ok[k]) for k in before)
        trainer.step += 1
        trainer.train_step(batch)  # NaN: skipped, weights untouched, logged
        assert all(torch.equal(after_ok[k], v) for k, v in trainer.codec.state_dict().items())
        assert trainer.nan_streak == 1
        assert "non-finite" in (tmp_path / "a" / "train.log").read_text()
    finally:
        trainer.close()

    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "b", device="cpu")
    try:
        trainer.codec.decoder.register_forward_hook(_nan_on(set(range(100))))
        with pytest.raises(TrainingError, match="2 steps in a row had non-finite"):
            trainer.fit()
    finally:
        trainer.close()


def test_config_errors_name_key_and_file(tmp_path, corpus, tiny_config):
    cfg = tiny_config(corpus)
    cfg["train"]["learning_rate"] = 1.0
    with pytest.raises(ConfigError, match="unknown key 'train.learning_rate'"):
        training_config_from_dict(cfg, source="conf.yaml")
    cfg = tiny_config(corpus)
    cfg["losses"]["adversarial"] = "wgan"
    with pytest.raises(ConfigError, match="losses.adversarial"):
        training_config_from_dict(cfg)
    cfg = tiny_config(corpus)
    cfg["discriminators"] = [{"name": "mpd", "periodz": [2]}]
    with pytest.raises(ConfigError, match="discriminators\\[0\\].*unknown key 'periodz'"):
        Trainer(training_config_from_dict(cfg), tmp_path / "x", device="cpu")


def test_example_configs_parse_and_match_model_configs():
    from pathlib import Path

    import codeckit.configs as configs

    train_dir = Path(configs.__file__).parent / "train"
    names = sorted(p.stem for p in train_dir.glob("*.yaml"))
    assert names
    for name in names:
        cfg = load_training_config(train_dir / f"{name}.yaml")
        assert cfg.discriminators and cfg.losses.reconstruction
        if name in configs.model_names():
            assert (
                cfg.model.__dict__
                == training_config_from_dict(
                    {"model": model_config(name)["model"], "data": {"train": "x"}}
                ).model.__dict__
            ), f"{name}: model section differs from codeckit/configs/models/{name}.yaml"


def test_cli_train(tmp_path, corpus, tiny_config, capsys):
    torch.set_num_threads(1)
    import yaml

    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(tiny_config(corpus, max_steps=100)))
    exp = tmp_path / "exp"
    assert main(["train", "--config", str(conf), "--exp-dir", str(exp), "--max-steps", "2", "--device", "cpu"]) == 0
    assert load_codec(exp / "model").sample_rate == 16000
    rows = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 2
    assert main(["train", "--config", str(conf), "--exp-dir", str(exp), "--max-steps", "2"]) == 2
    assert "pass --resume" in capsys.readouterr().err


def test_model_at_writes_a_checkpoint_as_a_model_dir(tmp_path, corpus, tiny_config, capsys):
    """`codeckit train --model-at STEP` turns a kept checkpoint into a model dir without training."""
    import yaml

    from codeckit.cli import main
    from codeckit.train.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, model_from_checkpoint
    from codeckit.train.config import training_config_from_dict

    torch.set_num_threads(1)
    cfg = tiny_config(corpus, max_steps=2, checkpoint_every=1, keep_checkpoints=2, disc_start_step=5)
    fit(cfg, tmp_path / "exp")
    conf = tmp_path / "conf.yaml"
    conf.write_text(yaml.safe_dump(cfg))
    assert main(["train", "--config", str(conf), "--exp-dir", str(tmp_path / "exp"), "--model-at", "1"]) == 0
    out = tmp_path / "exp" / "model_step_1"
    assert str(out) in capsys.readouterr().out
    saved = load_checkpoint(checkpoint_path(tmp_path / "exp" / "checkpoints", 1))["codec"]
    loaded = load_codec(out).state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)
    final = load_codec(tmp_path / "exp" / "model").state_dict()
    assert any(not torch.equal(final[k], loaded[k]) for k in final)  # step 1, not the final weights
    with pytest.raises(CheckpointError, match=r"step 7.*kept steps: \[1, 2\]"):
        model_from_checkpoint(training_config_from_dict(cfg), tmp_path / "exp", 7)
    assert main(["train", "--config", str(conf), "--exp-dir", str(tmp_path / "exp"), "--model-at", "7"]) != 0
    assert "no checkpoint for step 7" in capsys.readouterr().err
