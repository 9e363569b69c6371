"""Nominal bitrates of the shipped model configs, through `Codec.bitrate` (which calls `nominal_bitrate`)."""

from __future__ import annotations

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.configs import model_config

# published declarations: SNAC 0.98 / 1.9 / 2.6 kbps, EnCodec 24 kHz 1.5..24 kbps, DAC 44 kHz about 7.75 kbps
KNOWN = {"snac_24khz": 984.375, "snac_32khz": 1875.0, "snac_44khz": 2583.984375, "dac_44khz": 7751.953125}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_shipped_config_bitrates(name):
    with torch.device("meta"):  # the declaration needs no weights
        codec = build_codec(model_config(name)["model"])
    assert codec.bitrate() == pytest.approx(KNOWN[name])


def test_encodec_bitrate_per_number_of_quantizers():
    with torch.device("meta"):
        codec = build_codec(model_config("encodec_24khz")["model"])
    for n, kbps in [(2, 1.5), (4, 3.0), (8, 6.0), (16, 12.0), (32, 24.0)]:
        assert codec.bitrate(n) == pytest.approx(kbps * 1000)
