"""The `vocos` encoder and decoder: built by name, frame rates, gradients, causality, streaming, config errors."""

from __future__ import annotations

import math

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.errors import ConfigError
from codeckit.nn.vocos import STFTFeatures
from codeckit.registry import DECODERS, ENCODERS

HOP = 40


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def small_config(tiny_vocos):
    """`small_config(causal, upsample=1, phase=False)`: the tiny vocos codec (tests/conftest.py) at hop 40 (200 Hz),
    its decoder's intermediate_dim 48."""
    return lambda causal, upsample=1, phase=False: tiny_vocos(causal, upsample, phase, intermediate_dim=48)


@pytest.fixture
def make(make_codec, small_config):
    """`make(causal, upsample=1, phase=False, seed=0)`: that codec, random-init, in eval mode, without k-means."""

    def build(causal: bool, upsample: int = 1, phase: bool = False, seed: int = 0):
        codec = make_codec(small_config(causal, upsample, phase), seed)
        for key, buf in codec.named_buffers():
            if key.endswith("inited"):  # no first-batch k-means
                buf.fill_(1.0)
        return codec

    return build


def test_registered():
    assert "vocos" in ENCODERS.names() and "vocos" in DECODERS.names()


@pytest.mark.parametrize("causal,upsample,phase", [(False, 1, False), (True, 2, True)])
def test_codec_shapes_and_gradients(make, causal, upsample, phase):
    codec = make(causal, upsample, phase).train()
    assert codec.hop_length == codec.decoder.hop_length == HOP
    audio = torch.randn(2, 1, 10 * HOP + 7) * 0.3
    out = codec(audio)
    assert out.audio.shape == audio.shape and out.audio.dtype == torch.float32
    assert [c.shape for c in out.codes] == [(2, 11), (2, 11)]
    ((out.audio - audio).abs().mean() + sum(out.losses.values())).backward()
    trained = [p for p in codec.parameters() if p.requires_grad]
    assert all(p.grad is not None for n, p in codec.named_parameters() if n.startswith(("encoder", "decoder")))
    assert trained and not any(n.endswith("dft.conv.weight") for n, _ in codec.named_parameters())


def test_stft_features_are_the_stft():
    feats = STFTFeatures(64, 16, phase=True)
    audio = torch.randn(1, 1, 16 * 8)
    window = torch.hann_window(64)
    ref = torch.stft(
        torch.nn.functional.pad(audio[0, 0], (24, 24)), 64, 16, window=window, center=False, return_complex=True
    )
    ref = ref / window.sum()
    out = feats(audio)[0]
    n = 33
    assert out.shape == (3 * n, 8)
    assert (out[:n] - ref.abs().clamp_min(1e-5).log()).abs().max() < 1e-4
    big = ref.abs() > 1e-2
    assert (out[n : 2 * n][big] - (ref.real / ref.abs())[big]).abs().max() < 1e-4


def test_log_floor_hides_low_level_noise():
    """Bins under the floor read the same whatever the noise: a 40 dB noise floor leaves silent frames as they
    were, while a louder signal still reaches the features."""
    hop, n_fft = 160, 320
    bins = n_fft // 2 + 1
    torch.manual_seed(0)
    silence = torch.zeros(1, 1, 20 * hop)
    noise = 1e-3 * torch.randn(1, 1, 20 * hop)  # -60 dBFS white noise: ~5e-5 per normalised bin
    for floor, hidden in [(3e-4, True), (1e-5, False)]:
        feats = STFTFeatures(n_fft, hop, phase=True, log_floor=floor)
        quiet, noisy = feats(silence), feats(silence + noise)
        assert torch.allclose(quiet[:, :bins], torch.full_like(quiet[:, :bins], math.log(floor)))
        change = (noisy - quiet)[:, :bins].abs().max()  # log-magnitude channels
        assert (change < 0.05) if hidden else (change > 1.0)
        phase_change = (noisy - quiet)[:, bins:].abs().mean()  # phase channels scale with |X| / floor
        assert (phase_change < 0.2) if hidden else (phase_change > 0.5)
    tone = 0.3 * torch.sin(torch.arange(20 * hop) * 2 * math.pi * 1000 / 16000).view(1, 1, -1)
    assert (STFTFeatures(n_fft, hop, log_floor=3e-4)(tone) > math.log(3e-4) + 1).any()


def test_causal_codec_ignores_the_future(make):
    codec = make(causal=True)
    audio = torch.randn(1, 1, 12 * HOP) * 0.3
    later = audio.clone()
    later[..., 8 * HOP :] = 0.0
    with torch.no_grad():
        z, z_later = codec.encoder(audio), codec.encoder(later)
        assert torch.equal(z[..., :8], z_later[..., :8]) and not torch.equal(z, z_later)
        y, y_later = codec.decoder(z), codec.decoder(z_later)
    assert torch.equal(y[..., : 8 * HOP], y_later[..., : 8 * HOP])


@pytest.mark.parametrize("upsample", [1, 2])
def test_causal_codec_streams_like_offline(make, upsample):
    codec = make(causal=True, upsample=upsample, phase=True)
    audio = torch.randn(2, 1, 13 * HOP) * 0.3
    with torch.no_grad():
        codes = codec.encode(audio)
        decoded = codec.decode(codes)
        s_codes, pieces = [], []
        with codec.streaming(2):
            for a, b in [(0, 1), (1, 4), (4, 5), (5, 13)]:
                c = codec.encode(audio[..., a * HOP : b * HOP])
                s_codes.append(c)
                pieces.append(codec.decode(c))
    for level, ref in enumerate(codes):
        assert torch.equal(torch.cat([c[level] for c in s_codes], dim=1), ref)
    assert (torch.cat(pieces, dim=-1) - decoded).abs().max() <= 1e-5


def test_non_causal_parts_refuse_to_stream(make):
    from codeckit.nn.streaming import StreamingError

    codec = make(causal=False)
    with pytest.raises(StreamingError):
        with codec.decoder.streaming(1):
            pass


@pytest.mark.parametrize(
    "part,key,value",
    [
        ("encoder", "n_fft", 20),
        ("encoder", "n_layers", 0),
        ("encoder", "phase", "yes"),
        ("encoder", "log_floor", 0.0),
        ("encoder", "log_floor", "1e-4"),
        ("decoder", "upsample", 3),
        ("decoder", "n_fft", 60),
        ("decoder", "dim", -1),
        ("decoder", "causal", 1),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(small_config, part, key, value):
    cfg = small_config(False)
    cfg[part][key] = value
    with pytest.raises(ConfigError, match=key):
        build_codec(cfg)


def test_unknown_key_is_named(small_config):
    cfg = small_config(False)
    cfg["decoder"]["n_blocks"] = 3
    with pytest.raises(ConfigError, match="n_blocks"):
        build_codec(cfg)
