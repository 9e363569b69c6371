"""Sending pitch (`vocos` encoder `pitch: true`, `pitch_split` quantizer) and the harmonic head (`vocos` decoder
`head: harmonic`): the band-limited pulse train, the pitch channel and its codes, shapes and gradients, the
pulse spectrum in voiced frames only, config errors."""

from __future__ import annotations

import math

import pytest
import torch

from codeckit.errors import ConfigError
from codeckit.nn.harmonic import HarmonicISTFTHead, last_true, nearby_f0, pulse_train
from codeckit.quantizers import QuantizerError
from codeckit.registry import QUANTIZERS

pytestmark = pytest.mark.usefixtures("one_thread")


def test_pulse_train_is_band_limited_unit_rms_harmonics():
    sr, hop, f0 = 8000, 40, 190.0
    x = pulse_train(torch.full((1, 200), f0), hop, sr)[0]
    assert x.shape == (200 * hop,) and x.dtype == torch.float32
    assert abs(x.pow(2).mean().sqrt().item() - 1.0) < 0.02
    spectrum = torch.fft.rfft(x * torch.hann_window(x.numel())).abs()
    freqs = torch.fft.rfftfreq(x.numel(), 1 / sr)
    harmonics = torch.arange(1, int(sr / 2 / f0) + 1) * f0
    near = (freqs[:, None] - harmonics[None, :]).abs().min(-1).values < 2.0
    assert spectrum[~near].max() < 1e-2 * spectrum[near].max()  # nothing between harmonics: no aliasing


def test_pulse_train_pulses_are_one_period_apart_across_an_f0_step():
    x = pulse_train(torch.tensor([[100.0] * 10 + [200.0] * 10]), 800, 16000)[0]
    peaks = torch.nonzero((x[1:-1] > 0.5 * x.max()) & (x[1:-1] >= x[:-2]) & (x[1:-1] >= x[2:]))[:, 0] + 1
    gaps = peaks.diff().float()
    assert ((gaps - 160).abs() <= 1).sum() >= 45 and ((gaps - 80).abs() <= 1).sum() >= 90
    assert (gaps >= 79).all() and (gaps <= 161).all()  # no pulse lost or doubled where F0 glides


def _voiced_then_silent(batch: int = 2) -> torch.Tensor:
    t = torch.arange(40 * 40) / 8000
    tone = 0.3 * torch.sin(2 * math.pi * 150 * t) + 0.1 * torch.sin(2 * math.pi * 300 * t)
    return torch.cat([tone, torch.zeros(20 * 40 + 7)])[None, None].repeat(batch, 1, 1)


def test_pitch_codec_shapes_codes_and_gradients(make_codec, tiny_pitch_vocos):
    codec = make_codec(tiny_pitch_vocos(), 0).train()
    assert codec.codebook_sizes == [32, 25, 25] and isinstance(codec.decoder.head, HarmonicISTFTHead)
    audio = _voiced_then_silent()
    out = codec(audio)
    assert out.audio.shape == audio.shape and out.audio.dtype == torch.float32
    pitch = out.codes[0]
    assert pitch.shape == (2, 61) and pitch.dtype == torch.int64
    assert (pitch[:, 3:37] > 0).all() and (pitch[:, 43:] == 0).all()  # voiced tone, then silence coded 0
    level = pitch[0, 10].item() - 1
    f0 = 60.0 * (400.0 / 60.0) ** (level / 30)
    assert abs(f0 / 150.0 - 1) < 0.04  # within one step of the 32-level log scale
    (out.audio - audio).abs().mean().backward()
    assert codec.encoder.proj.weight.grad.abs().sum() > 0 and codec.decoder.head.out.weight.grad.abs().sum() > 0


def test_codes_round_trip_and_n_quantizers_keep_pitch(make_codec, tiny_pitch_vocos):
    codec = make_codec(tiny_pitch_vocos(), 0).eval()
    audio = _voiced_then_silent(1)
    with torch.no_grad():
        codes = codec.encode(audio)
        assert torch.allclose(codec.decode(codes, length=audio.shape[-1]), codec(audio).audio, atol=1e-5)
        coarse = codec.encode(audio, n_quantizers=1)
    assert len(coarse) == 1 and torch.equal(coarse[0], codes[0])
    with pytest.raises(QuantizerError, match="0..31"):
        codec.decode([codes[0] + 32, *codes[1:]])


def test_pulse_spectrum_is_zero_in_unvoiced_frames():
    head = HarmonicISTFTHead(16, 160, 40, 8000, 60.0, 400.0)
    pitch = torch.tensor([[0.5] * 6 + [-1.0] * 4 + [0.25] * 6])
    real, imag = head.pulse_spectrum(pitch)
    power = (real**2 + imag**2).sum(-1)[0]
    assert (power[6:10] == 0).all() and (power[:6] > 0).all() and (power[10:] > 0).all()


@pytest.mark.parametrize(
    "part,keys,match",
    [
        ("decoder", {"causal": True}, "causal"),
        ("decoder", {"upsample": 2}, "upsample"),
        ("decoder", {"head": "nope"}, "head"),
        ("encoder", {"causal": True}, "causal"),
        ("encoder", {"fmin": 500.0}, "fmin"),
        ("quantizer", {"levels": 2}, "levels"),
    ],
)
def test_bad_configs_raise_config_error(make_codec, tiny_pitch_vocos, part, keys, match):
    config = tiny_pitch_vocos()
    config[part] = {**config[part], **keys}
    with pytest.raises(ConfigError, match=match):
        make_codec(config, 0)


def test_pitch_split_wants_one_more_channel_than_its_quantizer():
    q = QUANTIZERS.build({"name": "pitch_split", "quantizer": {"name": "fsq", "levels": [5, 5], "dim": 4}})
    assert q.dim == 5 and q.codebook_sizes == [128, 25]
    with pytest.raises(QuantizerError):
        q.encode(torch.zeros(1, 4, 3))


def test_last_true_is_the_running_max_of_true_indices():
    torch.manual_seed(0)
    mask = torch.rand(3, 40) < 0.4
    mask[0] = False
    frame = torch.arange(40).expand(3, 40)
    expected = torch.cummax(torch.where(mask, frame, torch.zeros_like(frame)), -1).values
    first = mask.float().argmax(-1, keepdim=True)
    expected = torch.where(frame < first, first, expected)  # before the first true frame: that frame
    assert torch.equal(last_true(mask), expected)


def test_unvoiced_frames_take_the_nearest_voiced_f0_within_reach():
    pitch = torch.tensor([[-1.0, 0.2, -1.0, -1.0, -1.0, -1.0, -1.0, 0.8, -1.0]])
    assert torch.allclose(nearby_f0(pitch, 2), torch.tensor([[0.2, 0.2, 0.2, 0.2, 0.0, 0.8, 0.8, 0.8, 0.8]]))


def test_a_window_decodes_the_pulses_as_the_whole_signal_does():
    """With pauses in the pitch track, the pulse spectrum of a window (as overlap-save decoding cuts one) equals
    the whole signal's on the window's inner frames: the phase restarts in pauses, not where decoding began."""
    head = HarmonicISTFTHead(16, 160, 40, 8000, 60.0, 400.0)
    torch.manual_seed(1)
    pitch = torch.rand(1, 120) * 0.8 + 0.1
    for start in (20, 55, 90):
        pitch[:, start : start + 6] = -1.0  # pauses of 6 frames
    whole = head.pulse_spectrum(pitch)
    for lo, hi in ((10, 70), (40, 120), (0, 100)):
        part = head.pulse_spectrum(pitch[:, lo:hi])
        inner = slice(30 - lo if lo else 0, hi - lo - 5)  # after the window's first pause, away from its end
        for w, p in zip(whole, part):
            assert torch.allclose(p[:, inner], w[:, lo:hi][:, inner], atol=1e-3)
    part = head.pulse_spectrum(pitch[:, 27:90])
    assert not torch.allclose(part[0][:, 0:1], whole[0][:, 27:28], atol=1e-3)  # no pause before: phase differs
