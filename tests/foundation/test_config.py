"""Strict YAML configs: round trips, and errors that name the key and the file."""

from dataclasses import dataclass, field
from typing import Literal

import pytest

from codeckit.config import from_dict, load_config, save_config, to_dict
from codeckit.errors import ConfigError


@dataclass
class Inner:
    lr: float
    betas: tuple[float, float] = (0.8, 0.99)


@dataclass
class Outer:
    name: str
    steps: int
    optim: Inner
    rates: list[int] = field(default_factory=lambda: [2, 4])
    mode: Literal["grad", "ema"] = "grad"
    window: int | None = None
    extra: dict = field(default_factory=dict)
    flag: bool = False


def test_round_trip(tmp_path):
    cfg = Outer(name="a", steps=3, optim=Inner(lr=1e-3), window=32, extra={"k": [1, 2]}, flag=True)
    path = tmp_path / "c.yaml"
    save_config(path, cfg)
    back = load_config(path, Outer)
    assert back == cfg
    assert to_dict(back)["optim"]["betas"] == (0.8, 0.99)


def test_int_accepted_for_float_and_defaults():
    cfg = from_dict(Outer, {"name": "x", "steps": 1, "optim": {"lr": 1}})
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float) and cfg.rates == [2, 4]


def _write(tmp_path, text):
    p = tmp_path / "conf.yaml"
    p.write_text(text)
    return p


def test_unknown_key_named_with_file(tmp_path):
    p = _write(tmp_path, "name: a\nsteps: 1\noptim: {lr: 0.1, momentum: 0.9}\n")
    with pytest.raises(ConfigError, match=r"conf.yaml: unknown key 'optim.momentum'"):
        load_config(p, Outer)


def test_wrong_type_named(tmp_path):
    p = _write(tmp_path, "name: a\nsteps: ten\noptim: {lr: 0.1}\n")
    with pytest.raises(ConfigError, match=r"conf.yaml: key 'steps' should be int, got 'ten'"):
        load_config(p, Outer)
    p = _write(tmp_path, "name: a\nsteps: 1\noptim: {lr: 0.1}\nrates: [1, two]\n")
    with pytest.raises(ConfigError, match=r"key 'rates\[1\]' should be int"):
        load_config(p, Outer)
    p = _write(tmp_path, "name: a\nsteps: true\noptim: {lr: 0.1}\n")
    with pytest.raises(ConfigError, match="key 'steps' should be int, got True"):
        load_config(p, Outer)
    p = _write(tmp_path, "name: a\nsteps: 1\noptim: {lr: 0.1}\nmode: fancy\n")
    with pytest.raises(ConfigError, match=r"key 'mode' must be one of \['grad', 'ema'\]"):
        load_config(p, Outer)


def test_missing_required_key(tmp_path):
    p = _write(tmp_path, "name: a\noptim: {lr: 0.1}\n")
    with pytest.raises(ConfigError, match=r"conf.yaml: missing required key 'steps'"):
        load_config(p, Outer)
    p = _write(tmp_path, "name: a\nsteps: 1\noptim: {}\n")
    with pytest.raises(ConfigError, match=r"missing required key 'optim.lr'"):
        load_config(p, Outer)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", Outer)
    p = _write(tmp_path, "name: [unclosed\n")
    with pytest.raises(ConfigError, match="conf.yaml: invalid YAML"):
        load_config(p, Outer)
    p = _write(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(p, Outer)
