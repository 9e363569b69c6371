"""Classic-codec baselines: identity, Opus and Codec2 round trips, the bits they spend, missing tools."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from codeckit.audio import read_audio
from codeckit.baselines import BaselineError, Codec2Codec, IdentityCodec, OpusCodec
from codeckit.baselines.ogg import ogg_packet_sizes
from codeckit.metrics.suite import score


@pytest.fixture(scope="module")
def utt(speech_dir) -> torch.Tensor:
    return read_audio(speech_dir / "utt0.wav")[0]  # (1, T) at 16 kHz


def test_identity_is_exact(utt):
    codec = IdentityCodec(16000)
    payloads = codec.encode(utt[None])
    assert torch.equal(codec.decode(payloads, utt.shape[-1])[0], utt)
    assert codec.bitrate() == 32 * 16000
    assert codec.payload_bits(payloads[0]) == 32 * utt.shape[-1]


def test_opus_round_trip_and_bits(utt):
    codec = OpusCodec(12000, sample_rate=16000)
    payloads = codec.encode(utt[None])
    out = codec.decode(payloads, utt.shape[-1])
    assert out.shape == (1, 1, utt.shape[-1]) and out.dtype == torch.float32
    seconds = utt.shape[-1] / 16000
    bits = codec.payload_bits(payloads[0])
    assert bits < 8 * len(payloads[0])  # Ogg framing and the two header packets are not counted
    assert 0.7 * 12000 < bits / seconds < 1.3 * 12000
    # one 20 ms packet per frame after the OpusHead/OpusTags headers
    assert len(ogg_packet_sizes(payloads[0])) - 2 == pytest.approx(seconds / 0.02, abs=2)
    s = score(utt, out[0], 16000, ["si_sdr"])
    assert abs(s.delay) <= 2 and s.values["si_sdr"] > 5


def test_codec2_round_trip_and_bits(utt):
    codec = Codec2Codec("3200", sample_rate=16000)  # resampled to 8 kHz and back
    payloads = codec.encode(utt[None])
    out = codec.decode(payloads, utt.shape[-1])
    assert out.shape == (1, 1, utt.shape[-1])
    frames = int(np.ceil(utt.shape[-1] / 2 / 160))  # 20 ms frames at 8 kHz, 64 bits each
    assert codec.payload_bits(payloads[0]) == frames * 64
    assert score(utt, out[0], 16000, ["stoi"]).values["stoi"] > 0.6


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="Opus bitrate"):
        OpusCodec(3000)
    with pytest.raises(ValueError, match="Codec2 mode"):
        Codec2Codec("9999")


@pytest.mark.parametrize(
    "make, package", [(lambda: OpusCodec(6000), "opus-tools"), (lambda: Codec2Codec("3200"), "codec2")]
)
def test_missing_tool_names_the_package(monkeypatch, make, package):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(BaselineError, match=f"install the Debian package {package}"):
        make().encode(torch.zeros(1, 1, 1600))


def test_cli_missing_opusenc_is_one_clear_line(tmp_path, speech_dir):
    import os
    import sys

    env = {**os.environ, "PATH": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "codeckit", "bench", "--codecs", "opus:6000", "--data", str(speech_dir),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "'opusenc' was not found on PATH; install the Debian package opus-tools" in proc.stderr
    assert "Traceback" not in proc.stderr
