"""Registries build parts from `{name: ..., **kwargs}` and name what is wrong."""

import pytest
from torch import nn

from codeckit.errors import ConfigError
from codeckit.registry import CODECS, DECODERS, DISCRIMINATORS, ENCODERS, LOSSES, QUANTIZERS, Registry


@pytest.fixture
def reg():
    r = Registry("widget", "codeckit")

    @r.register("linear")
    class Linear(nn.Linear):
        def __init__(self, dim: int, bias: bool = True):
            super().__init__(dim, dim, bias=bias)

    @r.register("scaled")
    def scaled(factor: float, **rest):
        return ("scaled", factor, rest)

    return r


def test_build_from_mapping_and_name(reg):
    m = reg.build({"name": "linear", "dim": 4, "bias": False})
    assert isinstance(m, nn.Linear) and m.in_features == 4 and m.bias is None
    assert reg.build({"name": "scaled", "factor": 2.0, "anything": 1}) == ("scaled", 2.0, {"anything": 1})
    assert reg.names() == ["linear", "scaled"]


def test_spec_is_not_mutated(reg):
    spec = {"name": "linear", "dim": 3}
    reg.build(spec)
    assert spec == {"name": "linear", "dim": 3}


def test_unknown_name_lists_known(reg):
    with pytest.raises(ConfigError, match=r"unknown widget 'conv' \(known: linear, scaled\)"):
        reg.build({"name": "conv"})


def test_unknown_and_missing_kwargs(reg):
    with pytest.raises(ConfigError, match=r"conf.yaml: widget 'linear': unknown key 'width' \(known keys: dim, bias\)"):
        reg.build({"name": "linear", "dim": 2, "width": 3}, source="conf.yaml")
    with pytest.raises(ConfigError, match="widget 'linear': missing required key 'dim'"):
        reg.build({"name": "linear"})
    with pytest.raises(ConfigError, match="widget needs a 'name'"):
        reg.build({"dim": 2})


def test_duplicate_registration_refused(reg):
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("linear")(nn.Identity)


def test_kinds_exist():
    kinds = [r.kind for r in (ENCODERS, DECODERS, QUANTIZERS, CODECS, DISCRIMINATORS, LOSSES)]
    assert kinds == ["encoder", "decoder", "quantizer", "codec", "discriminator", "loss"]
    assert "codec" in CODECS.names()
