"""SNAC weight compatibility: a random-init reference `snac.SNAC` converted into codeckit codes and decodes the same."""

from __future__ import annotations

import json

import pytest
import torch

from codeckit.cli import main
from codeckit.codecs import load_codec
from codeckit.nn.noise import NoiseBlock

snac = pytest.importorskip("snac")


def reference_noise_off(model) -> None:
    """Turn the reference NoiseBlocks into identities (the reference has no switch for it)."""
    for m in model.modules():
        if type(m).__name__ == "NoiseBlock":
            m.forward = lambda x: x


def set_noise(codec, mode: str) -> None:
    for m in codec.modules():
        if isinstance(m, NoiseBlock):
            m.eval_noise = mode


def old_weight_norm_keys(state: dict) -> dict:
    """A state dict in the pre-parametrization form (`weight_g`, `weight_v`)."""
    out = {}
    for k, v in state.items():
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        out[k.replace(".parametrizations.weight.original1", ".weight_v")] = v
    return out


def write_release(directory, files: dict[str, bytes]):
    """`files` (name -> bytes) written into `directory`, made if needed; returns `directory`."""
    directory.mkdir(exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


@pytest.fixture(scope="module")
def converted(tmp_path_factory, snac_release):
    """(reference SNAC 24 kHz, random-init; its config.json; the codeckit codec converted from its release; that
    codec's model directory)."""
    ref, files = snac_release(seed=0)
    src = write_release(tmp_path_factory.mktemp("snac_src"), files)
    dst = tmp_path_factory.mktemp("snac_dst") / "model"
    assert main(["convert", "--from", "snac", str(src), str(dst)]) == 0
    return ref, files["config.json"], load_codec(dst), dst


def test_codes_and_audio_match_reference(converted):
    ref, _, codec, _ = converted
    torch.manual_seed(1)
    audio = torch.randn(2, 1, 11000) * 0.3  # not a multiple of the 2048-sample pad: both pad it
    reference_noise_off(ref)
    set_noise(codec, "off")
    with torch.inference_mode():
        ref_codes = ref.encode(audio)
        codes = codec.encode(audio)
        assert [c.shape for c in codes] == [c.shape for c in ref_codes] == [(2, 6), (2, 12), (2, 24)]
        for a, b in zip(codes, ref_codes):
            assert a.dtype == torch.int64 and torch.equal(a, b)
        ref_audio = ref.decode(ref_codes)
        out = codec.decode(codes, length=audio.shape[-1])
    assert ref_audio.shape[-1] == 12288 and out.shape == audio.shape  # ours trims the padding
    assert (out - ref_audio[..., : audio.shape[-1]]).abs().max().item() < 1e-5


def test_noise_draws_match_reference(converted):
    ref, config, codec, _ = converted
    ref2 = snac.SNAC(**json.loads(config)).eval()
    ref2.load_state_dict(ref.state_dict())
    set_noise(codec, "random")  # drawn from the global generator, like the reference
    codes = [torch.randint(0, 4096, (1, n)) for n in (2, 4, 8)]
    with torch.inference_mode():
        torch.manual_seed(5)
        expected = ref2.decode(codes)
        torch.manual_seed(5)
        got = codec.decode(codes)
    assert (got - expected).abs().max().item() < 1e-5
    set_noise(codec, "seeded")
    with torch.inference_mode():
        assert torch.equal(codec.decode(codes), codec.decode(codes))


def test_old_weight_norm_keys_and_safetensors_convert_identically(converted, tmp_path):
    from safetensors.torch import load_file, save_file

    ref, config, _, dst = converted
    expected = load_file(str(dst / "model.safetensors"))
    state = old_weight_norm_keys(ref.state_dict())
    assert any(k.endswith("weight_g") for k in state)
    old = write_release(tmp_path / "old", {"config.json": config})
    torch.save(state, old / "pytorch_model.bin")
    st = write_release(tmp_path / "st", {"config.json": config})
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(st / "model.safetensors"))
    for src in (old, st):
        out = tmp_path / f"{src.name}_out"
        assert main(["convert", "--from", "snac", str(src), str(out)]) == 0
        got = load_file(str(out / "model.safetensors"))
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected)
