"""`codeckit compress fit`, `codeckit compress`, `codeckit decompress` on a saved tiny model directory."""

import json

import pytest
import soundfile as sf
import torch
from conftest import tone

from codeckit.api import load
from codeckit.cli import main
from codeckit.codecs import build_codec, save_codec
from codeckit.compress.storage import INFO_FILE, MODEL_FILE, load_context_model
from codeckit.configs import model_config
from codeckit.tokens.tokenfile import load_tokens


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A dac_tiny model directory, 3 wav files (one in a sub-folder) and a wav.scp naming two of them."""
    root = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    model = save_codec(build_codec(model_config("dac_tiny")["model"]), root / "model")
    wavs = root / "wavs"
    (wavs / "sub").mkdir(parents=True)
    for i, (name, sec) in enumerate([("a", 1.0), ("b", 2.3), ("sub/c", 0.4)]):
        sf.write(wavs / f"{name}.wav", tone(sec, 16000, 200 + 50 * i, seed=i), 16000)
    scp = root / "wav.scp"
    scp.write_text(f"utt1 {wavs / 'a.wav'}\nutt2 {wavs / 'b.wav'}\n")
    return root, model, wavs, scp


def test_compress_without_a_context_model_says_how_to_fit(setup, capsys):
    root, model, wavs, _ = setup
    if (model / MODEL_FILE).exists():
        pytest.skip("fit ran first")
    assert main(["compress", str(wavs), "--model", str(model), "--out", str(root / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no context model" in err and "codeckit compress fit" in err and "\n" not in err


def test_fit_compress_decompress(setup, capsys):
    root, model, wavs, scp = setup
    assert main(["compress", "fit", str(wavs), "--model", str(model), "--buckets", "512"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["items"] == 3 and (model / MODEL_FILE).is_file()
    info = json.loads((model / INFO_FILE).read_text())
    assert info["config"]["buckets"] == 512 and info["identity"] == load_context_model(model).identity

    out = root / "ckc"
    assert main(["compress", str(wavs), str(scp), "--model", str(model), "--out", str(out)]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ckc")) == [
        "a.ckc",
        "b.ckc",
        "sub/c.ckc",
        "utt1.ckc",
        "utt2.ckc",
    ]
    tok = root / "tok"
    assert main(["decompress", str(out), "--model", str(model), "--out", str(tok), "--tokens", "--jobs", "2"]) == 0
    codec = load(model)
    for name in ("a", "b", "sub/c"):
        want = codec.tokenize(wavs / f"{name}.wav")
        tf = load_tokens(tok / f"{name}.tokens.safetensors")
        assert tf.header.length == want.lengths[0] and tf.header.source == str(wavs / f"{name}.wav")
        assert all(torch.equal(a, b) for a, b in zip(tf.codes, want[0]))
    ckc_from_tokens = root / "ckc_from_tokens"
    assert main(["compress", str(tok), "--model", str(model), "--out", str(ckc_from_tokens)]) == 0
    for name in ("a", "b", "sub/c"):  # same codes, length and source: the same bytes
        assert (ckc_from_tokens / f"{name}.ckc").read_bytes() == (out / f"{name}.ckc").read_bytes()
    wav_out = root / "wav_out"
    assert main(["decompress", str(out / "b.ckc"), "--model", str(model), "--out", str(wav_out)]) == 0
    audio, sr = sf.read(wav_out / "b.wav")
    assert sr == 16000 and audio.shape[0] == int(2.3 * 16000)


def test_corrupt_file_fails_naming_the_chunk_and_writes_nothing(setup, capsys):
    root, model, wavs, _ = setup
    if not (model / MODEL_FILE).exists():
        main(["compress", "fit", str(wavs), "--model", str(model)])
    out = root / "ckc2"
    assert main(["compress", str(wavs / "b.wav"), "--model", str(model), "--out", str(out)]) == 0
    data = bytearray((out / "b.ckc").read_bytes())
    data[-12] ^= 1  # inside the last chunk's payload or CRC
    (out / "b.ckc").write_bytes(bytes(data))
    (out / "cut.ckc").write_bytes(bytes(data[: len(data) // 2]))
    dec = root / "dec2"
    assert main(["decompress", str(out), "--model", str(model), "--out", str(dec)]) == 2
    err = capsys.readouterr().err
    assert "2 of 2 inputs failed" in err and "chunk" in err
    assert not dec.exists() or not [p for p in dec.rglob("*") if p.is_file()]
