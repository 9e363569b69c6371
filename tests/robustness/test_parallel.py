"""`--jobs 2`: a failing input, a model no worker can load, or a worker killed outright fails the command with
one line naming the error (exit 2), and never hangs (every case runs under a timeout)."""

from __future__ import annotations

import shutil

import pytest
import soundfile as sf
from robustness_helpers import HERE, SR, assert_clean_error, assert_process_error, cli, run_script, tone


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for name in ("a", "b", "c"):
        sf.write(d / f"{name}.wav", tone(0.1), SR)
    return d


@pytest.mark.timeout(240)
def test_tokenize_one_bad_input(capsys, model_dir, inputs, tmp_path):
    (inputs / "bad.wav").write_text("not audio")
    out = tmp_path / "out"
    o = cli(capsys, "tokenize", inputs, "--model", model_dir, "--out", out, "--jobs", "2")
    assert_clean_error(o, "1 of 4 inputs failed", "bad.wav", "cannot read audio file")
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.tokens.safetensors" for n in "abc"]


@pytest.mark.timeout(240)
def test_tokenize_model_no_worker_can_load(capsys, model_dir, inputs, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"garbage")
    out = tmp_path / "out"
    o = cli(capsys, "tokenize", inputs, "--model", broken, "--out", out, "--jobs", "2")
    assert_clean_error(o, "3 of 3 inputs failed", "cannot load the model", "model.safetensors")
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.timeout(240)
def test_detokenize_foreign_token_file(capsys, model_dir, other_model_dir, inputs, tmp_path):
    tok = tmp_path / "tok"
    assert cli(capsys, "tokenize", inputs / "a.wav", "--model", model_dir, "--out", tok).rc == 0
    assert cli(capsys, "tokenize", inputs / "b.wav", "--model", other_model_dir, "--out", tok).rc == 0
    out = tmp_path / "wav"
    o = cli(capsys, "detokenize", tok, "--model", model_dir, "--out", out, "--jobs", "2")
    assert_clean_error(o, "1 of 2 inputs failed", "b.tokens.safetensors", "was made by codec")
    assert sorted(p.name for p in out.iterdir()) == ["a.wav"]


@pytest.mark.timeout(240)
def test_tokenize_worker_killed(model_dir, inputs, tmp_path):
    sf.write(inputs / "die.wav", tone(0.1), SR)
    out = tmp_path / "out"
    proc = run_script(HERE / "jobs_driver.py", "tokenize", str(inputs), "--model", str(model_dir), "--out", str(out),
                      "--jobs", "2", timeout=200)  # fmt: skip
    assert_process_error(proc, "tokenize", "worker process died")
    assert not (out / "die.tokens.safetensors").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name] if out.exists() else True


@pytest.mark.timeout(240)
def test_bench_worker_killed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("a", "die"):
        sf.write(data / f"{name}.wav", tone(0.5, 16000), 16000)
    out = tmp_path / "out"
    proc = run_script(HERE / "jobs_driver.py", "bench", "--codecs", "identity", "--data", str(data), "--out",
                      str(out), "--metrics", "si_sdr", "--jobs", "2", "--no-progress", timeout=200)  # fmt: skip
    assert_process_error(proc, "bench", "worker process died")


BENCH_CASES = {
    "corrupt_model": ["model.safetensors"],
    "unreadable_file": ["cannot read audio file", "bad.wav"],
    "zero_sample_file": ["zero-length", "empty.wav"],
    "missing_data": ["data not found"],
    "script_name": ["codec spec"],
    "quote_name": ["codec spec"],
    "unknown_metric": ["metric"],
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("case", list(BENCH_CASES))
def test_bench_bad_setup_is_one_line(capsys, model_dir, tmp_path, case):
    data = tmp_path / "data"
    data.mkdir()
    sf.write(data / "a.wav", tone(0.5, 16000), 16000)
    codecs, metrics = ["identity"], ["si_sdr"]
    if case == "corrupt_model":
        broken = tmp_path / "model"
        shutil.copytree(model_dir, broken)
        (broken / "model.safetensors").write_bytes(b"garbage")
        codecs = [str(broken)]
    elif case == "unreadable_file":
        (data / "bad.wav").write_text("not audio")
    elif case == "zero_sample_file":
        sf.write(data / "empty.wav", tone(0.0, 16000), 16000)
    elif case == "missing_data":
        data = tmp_path / "nothing"
    elif case == "script_name":
        codecs = ["<script>alert(1)</script>=identity"]
    elif case == "quote_name":
        codecs = ['x"onmouseover="alert(1)=identity']
    elif case == "unknown_metric":
        metrics = ["$(touch PWNED)"]
    o = cli(capsys, "bench", "--codecs", *codecs, "--data", data, "--out", tmp_path / "out", "--metrics", *metrics,
            "--jobs", "2", "--no-progress")  # fmt: skip
    assert_clean_error(o, *BENCH_CASES[case])
    assert not list(tmp_path.rglob("PWNED"))
