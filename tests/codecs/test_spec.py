"""The codec declaration (`CodecSpec`): what a codec builds, what the ONNX metadata and token headers store and read
back, and the one n_quantizers check."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from codeckit.codec_spec import CodecSpec
from codeckit.codecs import build_codec
from codeckit.configs import model_config
from codeckit.export.errors import ExportError
from codeckit.metrics.bitrate import nominal_bitrate
from codeckit.tokens import TokenError, TokenHeader

SPEC = CodecSpec(24000, 1, (2048, 1024, 512), (4096, 4096, 4096), 2048)


@pytest.fixture(scope="module")
def snac():
    torch.manual_seed(0)
    return build_codec(copy.deepcopy(model_config("snac_tiny")["model"]))


def test_codec_builds_its_spec(snac):
    spec = snac.spec
    assert spec.sample_rate == snac.sample_rate and spec.channels == snac.channels
    assert list(spec.hop_lengths) == snac.hop_lengths and list(spec.codebook_sizes) == snac.codebook_sizes
    assert spec.pad_multiple == snac.pad_multiple and spec.delay == snac.delay == 0
    assert spec.n_levels == snac.n_levels and spec.frame_rates == snac.frame_rates
    want = nominal_bitrate(snac.sample_rate, snac.hop_lengths, snac.codebook_sizes, 2)
    assert spec.bitrate(2) == snac.bitrate(2) == want


def test_dict_round_trip_and_onnx_keys():
    d = SPEC.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert CodecSpec.from_dict({**d, "causal": True, "min_samples": 4096}) == SPEC
    assert d["n_levels"] == 3 and d["frame_rates"] == [24000 / 2048, 24000 / 1024, 24000 / 512]
    first = SPEC.first(2)
    assert first.hop_lengths == (2048, 1024) and first.pad_multiple == SPEC.pad_multiple
    assert first.bitrate() == SPEC.bitrate(2)
    with pytest.raises(KeyError):
        CodecSpec.from_dict({k: v for k, v in d.items() if k != "pad_multiple"})


def test_token_header_stores_the_spec():
    header = TokenHeader.from_spec(SPEC, "ab" * 32, 2, 5000)
    assert (header.levels, header.hop_lengths, header.codebook_sizes) == (3, [2048, 1024, 512], [4096] * 3)
    assert header.frame_rates == SPEC.frame_rates and header.n_quantizers == 2
    assert header.spec == SPEC  # the hops' least common multiple is this codec's pad multiple
    assert list(json.loads(json.dumps(header.__dict__))) == [
        "codec_id", "sample_rate", "channels", "levels", "hop_lengths", "frame_rates", "codebook_sizes",
        "n_quantizers", "length", "source", "source_sample_rate",
    ]  # fmt: skip


@pytest.mark.parametrize("n, want", [(None, 3), (1, 1), (3, 3), ("2", 2)])
def test_n_quantizers_in_range(n, want):
    assert SPEC.check_n_quantizers(n) == want


@pytest.mark.parametrize("n", [0, 4, -1])
def test_n_quantizers_out_of_range_names_the_range(n):
    with pytest.raises(ValueError, match=f"n_quantizers must be in 1..3, got {n}"):
        SPEC.check_n_quantizers(n)
    with pytest.raises(ExportError, match="n_quantizers must be in 1..3"):
        SPEC.check_n_quantizers(n, ExportError)
    with pytest.raises(TokenError, match="^x.tokens: n_quantizers must be in 1..3"):
        SPEC.check_n_quantizers(n, TokenError, where="x.tokens: ")


@pytest.mark.parametrize(
    "fields",
    [
        dict(sample_rate=0),
        dict(channels=0),
        dict(hop_lengths=(2048, 1024)),
        dict(hop_lengths=()),
        dict(codebook_sizes=(4096, 0, 4096)),
        dict(pad_multiple=0),
        dict(delay=-1),
    ],
)
def test_inconsistent_spec_is_refused(fields):
    base = dict(sample_rate=24000, channels=1, hop_lengths=(2048, 1024, 512), codebook_sizes=(4096,) * 3)
    with pytest.raises(ValueError, match="invalid codec spec"):
        CodecSpec(**{**base, "pad_multiple": 2048, **fields})
