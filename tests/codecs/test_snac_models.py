"""SNAC / DAC / FreqCodec codecs from the shipped configs: sizes, rates, exact lengths, batches, causality."""

from __future__ import annotations

import copy

import pytest
import torch

from codeckit.codecs import build_codec, load_codec, save_codec
from codeckit.configs import model_config, model_names

MINE = [
    "snac_24khz",
    "snac_32khz",
    "snac_44khz",
    "dac_44khz",
    "freqcodec_16khz",
    "snac_tiny",
    "dac_tiny",
    "freqcodec_tiny",
]
TINY = ["snac_tiny", "dac_tiny", "freqcodec_tiny"]


def build(name: str, **overrides):
    cfg = copy.deepcopy(model_config(name)["model"])
    for part, kwargs in overrides.items():
        cfg[part].update(kwargs)
    return build_codec(cfg)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_configs_are_shipped():
    assert set(MINE) <= set(model_names())


@pytest.mark.parametrize("name,millions", [("snac_24khz", 19.843), ("snac_32khz", 54.546), ("snac_44khz", 54.546)])
def test_snac_parameter_counts(name, millions):
    assert round(n_params(build(name)) / 1e6, 3) == millions


def test_snac_24khz_rates_and_bitrate():
    codec = build("snac_24khz")
    assert codec.hop_lengths == [2048, 1024, 512]
    assert [round(r, 1) for r in codec.frame_rates] == [11.7, 23.4, 46.9]
    assert codec.codebook_sizes == [4096] * 3 and codec.pad_multiple == 2048
    assert round(codec.bitrate()) == 984


def test_dac_44khz_layout():
    codec = build("dac_44khz")
    assert codec.hop_length == 512 and codec.codebook_sizes == [1024] * 9
    assert abs(codec.bitrate() - 7752) < 1
    assert build("snac_44khz").pad_multiple == 384 * 32  # hop 384 times lcm(vq stride 8, window 32)


def test_freqcodec_16khz_layout():
    codec = build("freqcodec_16khz")
    assert codec.hop_length == 320 and codec.frame_rates[0] == 50.0
    conv_params = n_params(codec.encoder) + n_params(codec.decoder)
    assert 0.4e6 < conv_params < 0.6e6


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("length", [999, 4097])
def test_exact_lengths_for_odd_inputs(name, length):
    torch.manual_seed(0)
    codec = build(name).eval()
    audio = torch.rand(1, 1, length) - 0.5
    with torch.inference_mode():
        out = codec(audio)
        codes = codec.encode(audio)
        assert [c.shape[-1] for c in codes] == codec.n_frames(length)
        decoded = codec.decode(codes, length=length)
    assert out.audio.shape == audio.shape and decoded.shape == audio.shape
    assert torch.allclose(out.audio, decoded, atol=1e-5)


@pytest.mark.parametrize("name", TINY)
def test_unequal_batch_equals_per_item_runs(name):
    torch.manual_seed(0)
    codec = build(name).eval()
    lengths = [3000, 7000, 2900]
    audio = torch.rand(3, 1, 7000) - 0.5
    with torch.inference_mode():
        codes = codec.encode(audio, lengths=lengths)
        out = codec.decode(codes, lengths=lengths)
        fwd = codec(audio, lengths=lengths)
        assert out.shape == (3, 1, 7000)
        for i, n in enumerate(lengths):
            alone = codec.encode(audio[i : i + 1, :, :n])
            for level, c in enumerate(alone):
                assert torch.equal(codes[level][i, : c.shape[-1]], c[0])
            y = codec.decode(alone, length=n)
            assert torch.allclose(out[i : i + 1, :, :n], y, atol=1e-5)
            assert torch.allclose(fwd.audio[i : i + 1, :, :n], y, atol=1e-5)
            assert not out[i, :, n:].any()


@pytest.mark.parametrize("name", ["snac_tiny", "dac_tiny"])
def test_causal_variant_ignores_the_future(name):
    torch.manual_seed(0)
    strides = {"strides": [1]} if name == "snac_tiny" else {}
    codec = build(name, encoder={"causal": True}, decoder={"causal": True}, quantizer=strides).eval()
    if name == "snac_tiny":
        for m in codec.modules():
            if hasattr(m, "eval_noise"):
                m.eval_noise = "off"
    hop, t = codec.hop_length, 4096
    audio = torch.rand(1, 1, 3 * t) - 0.5
    changed = audio.clone()
    changed[..., t:] = torch.rand_like(changed[..., t:]) - 0.5
    with torch.inference_mode():
        z, z2 = codec.encoder(audio), codec.encoder(changed)
        frames = t // hop
        assert torch.allclose(z[..., :frames], z2[..., :frames], atol=1e-5)
        assert not torch.allclose(z[..., frames:], z2[..., frames:], atol=1e-3)
        y, y2 = codec(audio).audio, codec(changed).audio
    assert torch.allclose(y[..., :t], y2[..., :t], atol=1e-5)
    assert not torch.allclose(y[..., t:], y2[..., t:], atol=1e-3)


def test_model_dir_round_trip(tmp_path):
    torch.manual_seed(0)
    codec = build("snac_tiny").eval()
    save_codec(codec, tmp_path / "m")
    loaded = load_codec(tmp_path / "m")
    audio = torch.rand(1, 1, 5000) - 0.5
    with torch.inference_mode():
        assert all(torch.equal(a, b) for a, b in zip(codec.encode(audio), loaded.encode(audio)))
        assert torch.equal(codec.decode(codec.encode(audio)), loaded.decode(loaded.encode(audio)))
