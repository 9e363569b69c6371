"""`codeckit.load("hf:ORG/NAME")` and `codeckit convert ... hf:ORG/NAME DST` against a local fake hub.

The fake hub (tests/api/fake_hub.py) serves a codeckit model directory and a random-init tiny SNAC in the
SNAC release layout (config.json + pytorch_model.bin). Both caches are temporary folders; nothing leaves
127.0.0.1 (telemetry off, offline mode off whatever the environment says).
"""

from __future__ import annotations

import socket

import pytest
import soundfile as sf
import torch
from fake_hub import FakeHub
from reference_packages import import_reference

import codeckit
from codeckit.cli import main
from codeckit.codecs import load_codec
from codeckit.errors import HubError

hub_constants = pytest.importorskip("huggingface_hub.constants")


@pytest.fixture(autouse=True)
def hub_client_offline_safe(monkeypatch):
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", True)  # no agent-registry call to the real hub
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def hub():
    server = FakeHub().start()
    yield server
    server.stop()


@pytest.fixture
def dirs(tmp_path, hub):
    """Keyword arguments for `codeckit.load`: the fake hub and temporary caches."""
    return {"endpoint": hub.url, "cache_dir": tmp_path / "codeckit", "hf_cache_dir": tmp_path / "hf"}


@pytest.fixture(scope="module")
def tiny_snac_release(snac_release):
    """`tiny_snac_release(seed)`: a reference SNAC release (tests/conftest.py) with SNAC 24 kHz's layout (hops 512,
    strides 4/2/1), narrow and with small codebooks so it builds in a blink, and a README as a release has."""

    def make(seed: int) -> tuple[torch.nn.Module, dict[str, bytes]]:
        ref, files = snac_release(seed, encoder_dim=8, decoder_dim=32, codebook_size=64)
        return ref, {**files, "README.md": b"x"}

    return make


def model_dir_files(path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in ("config.yaml", "model.safetensors")}


def test_codeckit_model_repo_loads_as_is(hub, dirs, new_model_dir, tmp_path, tone, one_thread):
    local = new_model_dir(tmp_path / "local", noise=False)
    commit = hub.push("org/tiny", {**model_dir_files(local), ".gitattributes": b"*.safetensors filter=lfs\n"})
    codec = codeckit.load("hf:org/tiny", **dirs)
    assert codec.path == dirs["cache_dir"] / "hf" / "org--tiny" / commit
    assert codec.identity == codeckit.load(local).identity
    tokens = codec.tokenize(tone(0.1, 24000), sr=24000)
    assert [tuple(c.shape) for c in tokens.codes] == [(1, 2), (1, 4), (1, 8)]
    assert codec.detokenize(tokens)[0].shape == (1, 2400)

    sf.write(tmp_path / "a.wav", tone(0.1, 24000), 24000)  # a converted commit needs no hub, even in tokenize
    before = len(hub.requests)
    args = ["tokenize", str(tmp_path / "a.wav"), "--model", f"hf:org/tiny@{commit}", "--out", str(tmp_path / "tok")]
    assert main([*args, "--cache-dir", str(dirs["cache_dir"])]) == 0
    assert (tmp_path / "tok" / "a.tokens.safetensors").is_file() and len(hub.requests) == before


def test_snac_release_converts_once_per_commit(hub, dirs, tiny_snac_release, one_thread):
    ref, files = tiny_snac_release(seed=0)
    first = hub.push("org/snac", files)
    start = len(hub.downloads())
    codec = codeckit.load("hf:org/snac", **dirs)
    assert codec.path == dirs["cache_dir"] / "hf" / "org--snac" / first
    assert sorted(p.rsplit("/", 1)[1] for p in hub.downloads()[start:]) == ["config.json", "pytorch_model.bin"]
    audio = torch.randn(1, 1, 4096) * 0.3
    with torch.inference_mode():
        assert all(torch.equal(a, b) for a, b in zip(codec.codec.encode(audio), ref.encode(audio)))
        assert codec.codec.decode(codec.codec.encode(audio)).shape == audio.shape

    before = len(hub.requests)
    assert codeckit.load("hf:org/snac", **dirs).path == codec.path  # one look-up, no download
    assert [m for m, _ in hub.requests[before:]] == ["GET"] and "/api/models/" in hub.requests[-1][1]

    _, files = tiny_snac_release(seed=1)
    second = hub.push("org/snac", files)
    downloads = len(hub.downloads())
    assert codeckit.load("hf:org/snac", **dirs).path.name == second  # a new revision converts again
    assert hub.downloads()[downloads:] == [f"/org/snac/resolve/{second}/pytorch_model.bin"]  # same config.json blob
    before = len(hub.requests)
    assert codeckit.load(f"hf:org/snac@{first}", **dirs).path == codec.path  # a converted commit: no request
    assert len(hub.requests) == before


def test_cli_converts_from_the_hub(hub, dirs, tiny_snac_release, tmp_path, capsys):
    _, files = tiny_snac_release(seed=2)
    hub.push("org/snac-cli", files, branch="v1")
    dst = tmp_path / "out"
    options = ["--endpoint", hub.url, "--cache-dir", str(dirs["cache_dir"])]
    options += ["--hf-cache-dir", str(dirs["hf_cache_dir"])]
    assert main(["convert", "--from", "snac", "hf:org/snac-cli@v1", str(dst), *options]) == 0, capsys.readouterr().err
    codec = load_codec(dst)
    assert codec.sample_rate == 24000 and codec.codebook_sizes == [64, 64, 64]
    assert main(["convert", "hf:org/snac-cli", str(tmp_path / "x"), *options]) == 2  # no main branch
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hf:org/snac-cli" in err and "revision 'main'" in err and "404" in err
    assert main(["convert", str(tmp_path), str(tmp_path / "y")]) == 2  # a local source needs --from
    assert "--from snac|encodec|dac|mimi is required" in capsys.readouterr().err


def test_unreachable_hub_is_one_clear_error(hub, dirs, new_model_dir, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(HubError) as info:
        codeckit.load("hf:org/nowhere@v2", **{**dirs, "endpoint": dead})
    message = str(info.value)
    assert "hf:org/nowhere" in message and "revision 'v2'" in message and dead in message
    assert "ConnectError" in message and "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__

    commit = hub.push("org/cached", model_dir_files(new_model_dir(tmp_path / "m")))
    path = codeckit.load("hf:org/cached", **dirs).path
    assert path.name == commit
    assert codeckit.load("hf:org/cached", **{**dirs, "endpoint": dead}).path == path  # offline: the cached one


def test_offline_mode_and_missing_repo(hub, dirs, monkeypatch):
    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
        codeckit.load("hf:org/anything", **dirs)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(HubError, match="hf:org/missing.*check the repository name") as info:
        codeckit.load("hf:org/missing", **dirs)
    assert info.value.not_found
    with pytest.raises(codeckit.ModelDirError, match="expected hf:ORG/NAME"):
        codeckit.load("hf:no-slash", **dirs)


def test_format_detection(hub, dirs):
    hub.push("org/encodec", {"encodec_24khz-d7cc33bc.th": b"not a checkpoint"})
    with pytest.raises(codeckit.ModelDirError, match="encodec_24khz-d7cc33bc.th: cannot read weights"):
        codeckit.load("hf:org/encodec", **dirs)  # detected as EnCodec, downloaded, handed to its converter
    hub.push("org/transformers", {"config.json": b'{"model_type": "encodec"}', "model.safetensors": b""})
    with pytest.raises(codeckit.ModelDirError, match="transformers encodec layout.*encodec_24khz-"):
        codeckit.load("hf:org/transformers", **dirs)
    hub.push("org/dac", {"weights_16khz_8kbps_0.0.5.pth": b"junk", "README.md": b""})
    with pytest.raises(codeckit.ModelDirError, match="weights_16khz_8kbps_0.0.5.pth: cannot read weights"):
        codeckit.load("hf:org/dac", **dirs)  # detected as DAC
    hub.push("org/mimi", {"tokenizer-e351c8d8-checkpoint125.safetensors": b"junk", "model.safetensors": b""})
    with pytest.raises(codeckit.ModelDirError, match="tokenizer-e351c8d8-checkpoint125.safetensors: cannot read"):
        codeckit.load("hf:org/mimi", **dirs)  # detected as Mimi (moshi's layout: the LM is model.safetensors)
    hub.push("org/dac_transformers", {"config.json": b'{"model_type": "dac"}', "model.safetensors": b""})
    with pytest.raises(codeckit.ModelDirError, match="transformers dac layout.*weights_.*pth"):
        codeckit.load("hf:org/dac_transformers", **dirs)
    hub.push("org/other", {"weights.bin": b"", "README.md": b""})
    with pytest.raises(codeckit.ModelDirError, match=r"cannot tell the model format .*README.md, weights.bin"):
        codeckit.load("hf:org/other", **dirs)
    assert not list((dirs["cache_dir"] / "hf").glob("*/.*"))  # no temporary folders left behind


def test_dac_release_from_the_hub(hub, dirs, tmp_path):
    """A DAC file as descript-audio-codec saves its releases, detected, converted once and equal to the reference."""
    dac = import_reference("dac")
    torch.manual_seed(3)
    ref = dac.DAC(
        encoder_dim=8,
        decoder_dim=64,
        n_codebooks=3,
        codebook_size=64,
        sample_rate=16000,
        encoder_rates=[2, 4, 5, 8],
        decoder_rates=[8, 5, 4, 2],
    ).eval()
    ref.save(str(tmp_path / "weights.pth"), package=False)
    hub.push("descript/dac-tiny", {"weights_16khz_8kbps_0.0.5.pth": (tmp_path / "weights.pth").read_bytes()})
    codec = codeckit.load("hf:descript/dac-tiny", **dirs)
    assert codec.sample_rate == 16000 and codec.codebook_sizes == [64, 64, 64]
    audio = torch.randn(1, 1, 1600) * 0.3
    with torch.inference_mode():
        _, codes, *_ = ref.encode(ref.preprocess(audio, 16000))
        tokens = codec.tokenize(audio[0, 0].numpy(), sr=16000)
        assert torch.equal(torch.stack([c[0] for c in tokens.codes]), codes[0])
        decoded = ref.decode(ref.quantizer.from_codes(codes)[0])[0]
        out = codec.detokenize(tokens)[0]
    n = decoded.shape[-1]  # 1592: DAC's odd stride drops a sample per layer at the end; codeckit pads zeros
    assert out.shape == (1, 1600) and n == 1592 and (out[:, :n] - decoded).abs().max().item() <= 1e-4
