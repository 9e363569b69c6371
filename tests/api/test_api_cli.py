"""`codeckit tokenize` / `codeckit detokenize` over files, directories and wav.scp, in parallel."""

import numpy as np
import pytest
import soundfile as sf
import torch

import codeckit
from codeckit.cli import main
from codeckit.tokens import load_tokens


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tone):
    root = tmp_path_factory.mktemp("corpus")
    (root / "dir" / "sub").mkdir(parents=True)
    sf.write(root / "dir" / "a.wav", tone(0.3, 16000, seed=1), 16000)
    sf.write(root / "dir" / "sub" / "b.flac", np.stack([tone(0.2, 44100), tone(0.2, 44100, 330)]).T, 44100)
    (root / "dir" / "notes.txt").write_text("not audio")
    sf.write(root / "c.wav", tone(0.45, 16000, seed=3), 16000)
    sf.write(root / "d.ogg", tone(0.25, 22050, seed=4), 22050)
    (root / "wav.scp").write_text(f"utt1 {root / 'c.wav'}\n\nutt2 {root / 'd.ogg'}\n")
    sf.write(root / "single.wav", tone(0.1, 16000, seed=5), 16000)
    return root


def test_tokenize_then_detokenize(corpus, causal_model_dir, tmp_path, capsys):
    out = tmp_path / "tok"
    args = [str(corpus / "dir"), str(corpus / "wav.scp"), str(corpus / "single.wav")]
    rc = main(["tokenize", *args, "--model", str(causal_model_dir), "--out", str(out), "--jobs", "2"])
    assert rc == 0, capsys.readouterr().err
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.tokens.safetensors"))
    assert names == [f"{k}.tokens.safetensors" for k in ("a", "single", "sub/b", "utt1", "utt2")]
    codec = codeckit.load(causal_model_dir)
    sources = {"a": corpus / "dir/a.wav", "sub/b": corpus / "dir/sub/b.flac", "utt2": corpus / "d.ogg"}
    for key, src in sources.items():
        tf = load_tokens(out / f"{key}.tokens.safetensors")
        ref = codec.tokenize(src)
        assert tf.header.length == ref.lengths[0] and tf.header.source == str(src)
        assert all(torch.equal(a, b) for a, b in zip(tf.codes, ref[0])), key
    wav = tmp_path / "wav"
    rc = main(["detokenize", str(out), "--model", str(causal_model_dir), "--out", str(wav), "--format", "flac"])
    assert rc == 0, capsys.readouterr().err
    for key in ("a", "single", "sub/b", "utt1", "utt2"):
        info = sf.info(wav / f"{key}.flac")
        assert info.samplerate == 16000 and info.frames == load_tokens(out / f"{key}.tokens.safetensors").header.length


def test_n_quantizers_and_single_token_file(corpus, causal_model_dir, tmp_path):
    out = tmp_path / "tok"
    assert main(["tokenize", str(corpus / "c.wav"), "--model", str(causal_model_dir), "--out", str(out),
                 "--n-quantizers", "2"]) == 0  # fmt: skip
    tf = load_tokens(out / "c.tokens.safetensors")
    assert tf.header.n_quantizers == 2 and len(tf.codes) == 2
    assert main(["detokenize", str(out / "c.tokens.safetensors"), "--model", str(causal_model_dir),
                 "--out", str(tmp_path)]) == 0  # fmt: skip
    assert sf.info(tmp_path / "c.wav").frames == tf.header.length


def test_foreign_token_files_fail_with_one_line(corpus, causal_model_dir, model_dir, tmp_path, capsys):
    out = tmp_path / "tok"
    assert main(["tokenize", str(corpus / "single.wav"), "--model", str(causal_model_dir), "--out", str(out)]) == 0
    capsys.readouterr()
    rc = main(["detokenize", str(out), "--model", str(model_dir), "--out", str(tmp_path / "wav")])
    err = capsys.readouterr().err
    assert rc == 2 and "1 of 1 inputs failed" in err and "was made by codec" in err
    assert not (tmp_path / "wav" / "single.wav").exists()


def test_input_errors(corpus, causal_model_dir, tmp_path, capsys):
    base = ["--model", str(causal_model_dir), "--out", str(tmp_path / "o")]
    assert main(["tokenize", str(corpus / "c.wav"), str(corpus / "wav.scp"), str(corpus / "dir" / "a.wav"), *base]) == 0
    capsys.readouterr()
    # c.wav and another c.wav would write the same output.
    (tmp_path / "x").mkdir()
    sf.write(tmp_path / "x" / "c.wav", np.zeros(100, np.float32), 16000)
    assert main(["tokenize", str(corpus / "c.wav"), str(tmp_path / "x" / "c.wav"), *base]) == 2
    assert "two inputs would write the same output 'c'" in capsys.readouterr().err
    (tmp_path / "p.scp").write_text("u1 sox a.wav -t wav - |\n")
    assert main(["tokenize", str(tmp_path / "p.scp"), *base]) == 2
    assert "p.scp:1: piped commands are not supported" in capsys.readouterr().err
    assert main(["tokenize", str(tmp_path / "nothing"), *base]) == 2
    assert "input not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["tokenize", str(tmp_path / "empty"), *base]) == 2
    assert "no files ending in" in capsys.readouterr().err
