"""The trainer's speed options (train.precision: bf16_cpu, train.compile, train.num_threads /
num_interop_threads) and a smoke run of benches/train_throughput.py."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import time
from pathlib import Path

import pytest
import torch
import yaml

from codeckit.nn.conv import StreamableConv1d
from codeckit.train.config import TrainSection, training_config_from_dict
from codeckit.train.speed import Compiled, CompileError, autocast_device
from codeckit.train.trainer import Trainer

BENCH = Path(__file__).resolve().parents[2] / "benches" / "train_throughput.py"

# the CPU recipe's family (STFT + ConvNeXt encoder, FSQ, ConvNeXt + ISTFT decoder), tiny
VOCOS_FSQ_TINY = {
    "sample_rate": 16000,
    "encoder": {"name": "vocos", "latent_dim": 16, "hop_length": 320, "n_fft": 640, "dim": 16, "n_layers": 1},
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "fsq", "levels": [5, 5], "dim": 16}},
    "decoder": {"name": "vocos", "latent_dim": 16, "hop_length": 320, "n_fft": 1280, "dim": 16, "n_layers": 1},
}


def make_trainer(cfg: dict, exp) -> Trainer:
    return Trainer(training_config_from_dict(copy.deepcopy(cfg)), exp, device="cpu")


def first_batches(trainer: Trainer, n: int) -> list[torch.Tensor]:
    trainer.sampler.set_epoch(0)
    return [b.audio for _, b in zip(range(n), trainer.loader)]


@pytest.mark.parametrize(
    "key, value",
    [("precision", "fp16"), ("compile", "yes"), ("compile", True), ("num_threads", 0), ("num_interop_threads", -1)],
)
def test_bad_speed_options_name_the_key(corpus, tiny_config, key, value):
    with pytest.raises(ValueError, match=f"train.{key}"):
        training_config_from_dict(tiny_config(corpus, **{key: value}))


@pytest.mark.parametrize("key, value", [("precision", "bf16_gpu"), ("compile", "fast"), ("num_threads", 0)])
def test_train_section_checks_speed_options_itself(key, value):
    with pytest.raises(ValueError, match=f"train.{key}"):
        TrainSection(**{key: value})


def test_good_speed_options_parse(corpus, tiny_config):
    cfg = tiny_config(corpus, precision="bf16_cpu", compile="all", num_threads=1, num_interop_threads=1)
    tc = training_config_from_dict(cfg).train
    assert (tc.precision, tc.compile, tc.num_threads, tc.num_interop_threads) == ("bf16_cpu", "all", 1, 1)
    defaults = TrainSection()
    assert (defaults.precision, defaults.compile, defaults.num_threads) == ("bf16", "none", None)


def test_bf16_autocasts_on_the_cpu_only_when_asked():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert autocast_device("bf16", cpu) is None  # unchanged default: CPU runs fp32
    assert autocast_device("bf16", cuda) == "cuda"
    assert autocast_device("bf16_cpu", cpu) == "cpu"
    assert autocast_device("bf16_cpu", cuda) == "cuda"
    assert autocast_device("fp32", cpu) is None and autocast_device("fp32", cuda) is None


def test_thread_options_apply(tmp_path, corpus, tiny_config):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        interop = torch.get_num_interop_threads()  # the same count: torch allows setting it once per process
        make_trainer(tiny_config(corpus, num_threads=1, num_interop_threads=interop), tmp_path / "exp").close()
        assert (torch.get_num_threads(), torch.get_num_interop_threads()) == (1, interop)
    finally:
        torch.set_num_threads(threads)


def test_cpu_bf16_trains_two_steps_with_finite_losses(tmp_path, corpus, tiny_config, one_thread):
    """Step 1 without, step 2 with the discriminators; the codec's convs really run in bfloat16."""
    cfg = tiny_config(corpus, precision="bf16_cpu", disc_start_step=1, num_threads=1)
    trainer = make_trainer(cfg, tmp_path / "exp")
    dtypes = []
    conv = next(m for m in trainer.codec.modules() if isinstance(m, StreamableConv1d))  # calls F.conv1d itself
    conv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    try:
        assert trainer.autocast_device == "cpu"
        rows = []
        for audio in first_batches(trainer, 2):
            rows.append(trainer.train_step(audio))
            trainer.step += 1
    finally:
        trainer.close()
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert "loss/discriminator" not in rows[0] and "loss/discriminator" in rows[1]
    for row in rows:
        losses = {k: v for k, v in row.items() if k.startswith(("loss/", "grad_norm/"))}
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses


def test_compile_failure_is_one_clear_error(monkeypatch):
    import torch._inductor.exc as inductor_exc

    def broken(*args, **kwargs):
        raise inductor_exc.InvalidCxxCompiler()

    monkeypatch.setattr(torch, "compile", lambda module, **kw: broken)
    wrapped = Compiled(torch.nn.Identity(), "codec")
    expected = r"train\.compile: .* the codec \(InvalidCxxCompiler: .*\); set train\.compile: none"
    with pytest.raises(CompileError, match=expected):
        wrapped(torch.zeros(1))


@pytest.mark.slow
def test_compiled_step_matches_eager(tmp_path, corpus, tiny_config, one_thread):
    """One codec update with train.compile: codec gives the eager loss (same seed, same batch)."""
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("torch.compile (inductor) needs a C++ compiler; none on PATH")
    cfg = tiny_config(corpus, disc_start_step=100, num_threads=1)
    cfg["model"] = VOCOS_FSQ_TINY
    losses = {}
    for mode in ("none", "codec"):
        cfg["train"]["compile"] = mode
        trainer = make_trainer(cfg, tmp_path / mode)
        try:
            audio = first_batches(trainer, 1)[0]
            t0 = time.perf_counter()
            try:
                losses[mode] = trainer.train_step(audio)["loss/total"]
            except CompileError as e:
                pytest.skip(f"torch.compile does not work here: {e}")
            if mode == "codec" and time.perf_counter() - t0 > 240:
                pytest.skip(f"compiling took {time.perf_counter() - t0:.0f} s (machine too slow or busy)")
        finally:
            trainer.close()
    assert losses["codec"] == pytest.approx(losses["none"], rel=1e-4)


def load_bench():
    spec = importlib.util.spec_from_file_location("train_throughput_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_smoke(tmp_path, corpus, tiny_config, one_thread):
    """benches/train_throughput.py, 1 warm-up + 1 timed step per variant, in this process, writes its JSON."""
    conf = tmp_path / "tiny.yaml"
    conf.write_text(yaml.safe_dump(tiny_config(corpus, sample_every=0)))
    out = tmp_path / "bench.json"
    args = ["--config", str(conf), "--data", str(corpus), "--warmup", "1", "--steps", "1", "--threads", "1"]
    args += ["--variants", "eager", "bf16", "interop1", "gan", "gan_channels_last", "--in-process", "--out", str(out)]
    assert load_bench().main(args) == 0
    result = json.loads(out.read_text())
    rows = {r["variant"]: r for r in result["rows"]}
    assert list(rows) == ["eager", "gan", "bf16", "interop1", "gan_channels_last"]
    assert result["meta"]["steps"] == 1 and result["meta"]["batch_size"] == 4
    assert "process of their own" in rows["interop1"]["error"]
    for name in ("eager", "gan", "bf16", "gan_channels_last"):
        r = rows[name]
        assert r["s_per_step"] > 0 and r["audio_s_per_s"] > 0 and r["loss_steps"] == 2
        assert all(torch.isfinite(torch.tensor(r["losses"])))
    assert rows["eager"]["loss_rel_diff"] == 0 and rows["eager"]["same_loss"]
    assert rows["bf16"]["precision"] == "bf16_cpu" and not rows["bf16"]["gan"]
    assert rows["gan"]["gan"] and rows["gan"]["loss"] != rows["eager"]["loss"]  # adversarial terms join
    assert "4-D discriminator parameters channels-last" in rows["gan_channels_last"]["note"]
