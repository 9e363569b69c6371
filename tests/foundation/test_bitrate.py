"""The one bitrate function, on the anchors' published declarations."""

import pytest

from codeckit.metrics.bitrate import nominal_bitrate


def test_snac_24khz():
    bps = nominal_bitrate(24000, [2048, 1024, 512], [4096] * 3)
    assert bps == pytest.approx(984.375)
    assert round(bps, 1) == 984.4


def test_encodec_24khz_bandwidths():
    hops, sizes = [320] * 32, [1024] * 32
    assert nominal_bitrate(24000, hops, sizes, n_quantizers=8) == pytest.approx(6000)
    for n, kbps in [(2, 1.5), (4, 3), (8, 6), (16, 12), (32, 24)]:
        assert nominal_bitrate(24000, hops, sizes, n) == pytest.approx(kbps * 1000)


def test_dac_44khz():
    assert nominal_bitrate(44100, [512] * 9, [1024] * 9) == pytest.approx(44100 / 512 * 90)


def test_invalid_declarations():
    with pytest.raises(ValueError, match="2 hop lengths but 1 codebook sizes"):
        nominal_bitrate(16000, [320, 320], [1024])
    with pytest.raises(ValueError, match="n_quantizers must be in 1..2"):
        nominal_bitrate(16000, [320, 320], [1024, 1024], 3)
    with pytest.raises(ValueError, match="sample_rate must be positive"):
        nominal_bitrate(0, [320], [1024])
