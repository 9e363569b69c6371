"""Model directories at the edge: `codeckit.load`, `codeckit info` and `codeckit convert` name what is wrong with
a broken directory in one ModelDirError line, and never run code from a file they read (a pickle whose
`__reduce__` would create a marker file, a YAML tag that would call os.system)."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from robustness_helpers import assert_clean_error, cli
from safetensors.torch import load_file, save_file

import codeckit
from codeckit.errors import ModelDirError


class Payload:
    """Unpickling this calls `open(marker, "w")`: the marker file appears iff the pickle is run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_malicious_pickle(path: Path, marker: Path, torch_format: bool = True) -> None:
    state = {"encoder.weight": torch.zeros(2), "evil": Payload(marker)}
    if torch_format:
        torch.save(state, path)
    else:
        path.write_bytes(pickle.dumps(state))
    assert not marker.exists()


def _config(d: Path) -> dict:
    return yaml.safe_load((d / "config.yaml").read_text())


def _set_config(d: Path, edit) -> None:
    cfg = _config(d)
    edit(cfg)
    (d / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def _set_weights(d: Path, edit) -> None:
    tensors = load_file(str(d / "model.safetensors"))
    save_file(edit(tensors), str(d / "model.safetensors"))


def _pop(mapping: dict, key: str) -> dict:
    mapping.pop(key)
    return mapping


FIRST = "{first}"  # in the words of a case: the name of the model's first tensor (sorted)


def _first(d: Path) -> str:
    return sorted(load_file(str(d / "model.safetensors")))[0]


def _break(kind: str, d: Path, marker: Path) -> Path:
    """Damage the model directory `d` as case `kind` says; returns the path to load."""
    w = d / "model.safetensors"
    c = d / "config.yaml"
    first = _first(d)
    if kind == "valid":
        pass
    elif kind == "missing_dir":
        return d.parent / "no_such_model"
    elif kind == "a_file":
        return c
    elif kind == "no_config":
        c.unlink()
    elif kind == "no_weights":
        w.unlink()
    elif kind == "only_a_pickle":
        w.unlink()
        write_malicious_pickle(d / "pytorch_model.bin", marker)
    elif kind == "pickle_named_safetensors":
        write_malicious_pickle(w, marker)
    elif kind == "raw_pickle_named_safetensors":
        write_malicious_pickle(w, marker, torch_format=False)
    elif kind == "weights_truncated":
        w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    elif kind == "weights_empty":
        w.write_bytes(b"")
    elif kind == "weights_garbage":
        w.write_bytes(bytes(range(256)) * 64)
    elif kind == "weights_header_corrupt":
        data = bytearray(w.read_bytes())
        data[8:16] = b"}}}}{{{{"
        w.write_bytes(bytes(data))
    elif kind == "weights_a_directory":
        w.unlink()
        w.mkdir()
    elif kind == "weights_missing_tensor":
        _set_weights(d, lambda t: _pop(t, first))
    elif kind == "weights_extra_tensor":
        _set_weights(d, lambda t: {**t, "extra.tensor": torch.zeros(3)})
    elif kind == "weights_wrong_shape":
        _set_weights(d, lambda t: {**t, first: torch.zeros(1, 2, 3)})
    elif kind == "weights_float16":
        _set_weights(d, lambda t: {k: v.half() if v.is_floating_point() else v for k, v in t.items()})
    elif kind == "config_invalid_yaml":
        c.write_text("model: {sample_rate: 24000\n  encoder: [\n")
    elif kind == "config_not_utf8":
        c.write_bytes(b"\xff\xfe\x00model:\x9c\n")
    elif kind == "config_empty":
        c.write_text("")
    elif kind == "config_a_list":
        c.write_text("- 1\n- 2\n")
    elif kind == "config_python_tag":
        c.write_text(f"model: !!python/object/apply:builtins.open ['{marker}', 'w']\n")
    elif kind == "config_no_model":
        _set_config(d, lambda cfg: cfg.pop("model"))
    elif kind == "config_missing_encoder":
        _set_config(d, lambda cfg: cfg["model"].pop("encoder"))
    elif kind == "config_sample_rate_string":
        _set_config(d, lambda cfg: cfg["model"].update(sample_rate="24k"))
    elif kind == "config_sample_rate_zero":
        _set_config(d, lambda cfg: cfg["model"].update(sample_rate=0))
    elif kind == "config_channels_negative":
        _set_config(d, lambda cfg: cfg["model"].update(channels=-1))
    elif kind == "config_unknown_model_key":
        _set_config(d, lambda cfg: cfg["model"].update(sampel_rate=1))
    elif kind == "config_unknown_top_level_key":
        _set_config(d, lambda cfg: cfg.update(notes="trained on my laptop"))  # free metadata beside `model`
    elif kind == "config_unknown_encoder_key":
        _set_config(d, lambda cfg: cfg["model"]["encoder"].update(dimm=8))
    elif kind == "config_encoder_dim_string":
        _set_config(d, lambda cfg: cfg["model"]["encoder"].update(dim="eight"))
    elif kind == "config_encoder_dim_float":
        _set_config(d, lambda cfg: cfg["model"]["encoder"].update(dim=8.5))
    elif kind == "config_encoder_rates_strings":
        _set_config(d, lambda cfg: cfg["model"]["encoder"].update(rates=["2", 4, 8, 8]))
    elif kind == "config_encoder_a_string":
        _set_config(d, lambda cfg: cfg["model"].update(encoder="snac"))
    elif kind == "config_encoder_a_number":
        _set_config(d, lambda cfg: cfg["model"].update(encoder=3))
    elif kind == "config_unknown_encoder":
        _set_config(d, lambda cfg: cfg["model"]["encoder"].update(name="nope"))
    elif kind == "config_codebook_negative":
        _set_config(d, lambda cfg: cfg["model"]["quantizer"]["level"].update(codebook_size=-4))
    elif kind == "config_extra_unknown":
        _set_config(d, lambda cfg: cfg["model"].update(extra={"bogus": 1}))
    else:
        raise AssertionError(kind)
    return d


CASES = {
    # id: None when it loads, else words of the ModelDirError
    "valid": None,
    "missing_dir": ["not found"],
    "a_file": ["not a model directory"],
    "no_config": ["has no config.yaml"],
    "no_weights": ["has no model.safetensors"],
    "only_a_pickle": ["has no model.safetensors", "pytorch_model.bin", "codeckit convert"],
    "pickle_named_safetensors": ["cannot read safetensors file"],
    "raw_pickle_named_safetensors": ["cannot read safetensors file"],
    "weights_truncated": ["cannot read safetensors file"],
    "weights_empty": ["cannot read safetensors file"],
    "weights_garbage": ["cannot read safetensors file"],
    "weights_header_corrupt": ["cannot read safetensors file"],
    "weights_a_directory": ["has no model.safetensors"],
    "weights_missing_tensor": ["missing tensor", FIRST],
    "weights_extra_tensor": ["unexpected tensor 'extra.tensor'"],
    "weights_wrong_shape": ["tensor '{first}' has shape (1, 2, 3)"],
    "weights_float16": None,  # cast to the model's dtype on load
    "config_invalid_yaml": ["invalid YAML"],
    "config_not_utf8": ["invalid YAML"],
    "config_empty": ["expected a mapping"],
    "config_a_list": ["expected a mapping"],
    "config_python_tag": ["invalid YAML"],
    "config_no_model": ["no 'model' section"],
    "config_missing_encoder": ["missing required key 'model.encoder'"],
    "config_sample_rate_string": ["model.sample_rate", "24k"],
    "config_sample_rate_zero": ["model.sample_rate", "positive"],
    "config_channels_negative": ["model.channels"],
    "config_unknown_model_key": ["unknown key 'model.sampel_rate'"],
    "config_unknown_top_level_key": None,
    "config_unknown_encoder_key": ["unknown key 'dimm'"],
    "config_encoder_dim_string": ["key 'dim'", "eight"],
    "config_encoder_dim_float": ["key 'dim'", "8.5"],
    "config_encoder_rates_strings": ["rates[0]"],
    "config_encoder_a_string": ["key 'model.encoder' should be dict"],
    "config_encoder_a_number": ["key 'model.encoder' should be dict"],
    "config_unknown_encoder": ["unknown encoder 'nope'"],
    "config_codebook_negative": ["codebook_size", "-4"],
    "config_extra_unknown": ["unknown key 'bogus'"],
}


@pytest.fixture
def broken(model_dir, tmp_path):
    """`broken(kind)` -> (path to load, marker path) for a fresh copy of the tiny model dir."""

    def make(kind):
        d = tmp_path / "model"
        shutil.copytree(model_dir, d)
        marker = tmp_path / "MARKER"
        return _break(kind, d, marker), marker

    return make


def _words(case: str, model_dir: Path) -> list[str] | None:
    words = CASES[case]
    return None if words is None else [w.replace(FIRST, _first(model_dir)) for w in words]


@pytest.mark.parametrize("case", list(CASES))
def test_load(broken, model_dir, case):
    path, marker = broken(case)
    words = _words(case, model_dir)
    if words is None:
        assert codeckit.load(path).n_levels == 3
    else:
        with pytest.raises(ModelDirError) as info:
            codeckit.load(path)
        msg = str(info.value)
        assert "\n" not in msg and all(w.lower() in msg.lower() for w in words), msg
    assert not marker.exists(), "a file codeckit read ran code"


@pytest.mark.parametrize("case", list(CASES))
def test_info_cli(capsys, broken, model_dir, case):
    path, marker = broken(case)
    o = cli(capsys, "info", path)
    words = _words(case, model_dir)
    if words is None:
        assert o.rc == 0, o.err
    else:
        assert_clean_error(o, *words)
    assert not marker.exists(), "a file codeckit read ran code"


# -- convert ----------------------------------------------------------------------------------------------
SNAC_CONFIG = {"sampling_rate": 24000, "encoder_dim": 8, "encoder_rates": [2, 4, 8, 8], "decoder_dim": 96,
               "decoder_rates": [8, 8, 4, 2], "attn_window_size": None, "codebook_size": 1024, "codebook_dim": 8,
               "vq_strides": [4, 2, 1], "noise": True, "depthwise": True}  # fmt: skip


def _convert_source(kind: str, root: Path, marker: Path) -> tuple[str, Path]:
    src = root / "src"
    src.mkdir()
    if kind == "snac_malicious_bin":
        (src / "config.json").write_text(json.dumps(SNAC_CONFIG))
        write_malicious_pickle(src / "pytorch_model.bin", marker)
        return "snac", src
    if kind == "snac_malicious_raw_pickle":
        (src / "config.json").write_text(json.dumps(SNAC_CONFIG))
        write_malicious_pickle(src / "pytorch_model.bin", marker, torch_format=False)
        return "snac", src
    if kind == "encodec_malicious_th":
        write_malicious_pickle(src / "encodec_24khz.th", marker)
        return "encodec", src / "encodec_24khz.th"
    if kind == "snac_config_not_json":
        (src / "config.json").write_text("{sampling_rate: 24000")
        torch.save({}, src / "pytorch_model.bin")
        return "snac", src
    if kind == "snac_config_not_utf8":
        (src / "config.json").write_bytes(b"\xff\xfe{")
        torch.save({}, src / "pytorch_model.bin")
        return "snac", src
    if kind == "snac_no_config":
        torch.save({}, src / "pytorch_model.bin")
        return "snac", src
    if kind == "snac_no_weights":
        (src / "config.json").write_text(json.dumps(SNAC_CONFIG))
        return "snac", src
    if kind == "snac_truncated_weights":
        (src / "config.json").write_text(json.dumps(SNAC_CONFIG))
        torch.save({"a": torch.zeros(1000)}, src / "pytorch_model.bin")
        data = (src / "pytorch_model.bin").read_bytes()
        (src / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
        return "snac", src
    if kind == "snac_not_tensors":
        (src / "config.json").write_text(json.dumps(SNAC_CONFIG))
        torch.save({"a": [1, 2, 3]}, src / "pytorch_model.bin")
        return "snac", src
    if kind == "missing_source":
        return "snac", root / "nothing_here"
    if kind == "encodec_two_checkpoints":
        torch.save({}, src / "a.th")
        torch.save({}, src / "b.th")
        return "encodec", src
    raise AssertionError(kind)


CONVERT_CASES = {
    "snac_malicious_bin": ["refused to unpickle", "pytorch_model.bin"],
    "snac_malicious_raw_pickle": ["pytorch_model.bin"],  # not even a torch file: refused before unpickling
    "encodec_malicious_th": ["refused to unpickle", "encodec_24khz.th"],
    "snac_config_not_json": ["invalid JSON"],
    "snac_config_not_utf8": ["invalid JSON"],
    "snac_no_config": ["no config.json"],
    "snac_no_weights": ["no SNAC weights"],
    "snac_truncated_weights": ["cannot read weights"],
    "snac_not_tensors": ["expected a mapping of tensor names to tensors"],
    "missing_source": ["not found"],
    "encodec_two_checkpoints": ["expected one EnCodec checkpoint"],
}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch, on the raw pickle it then refuses
@pytest.mark.parametrize("case", list(CONVERT_CASES))
def test_convert(capsys, tmp_path, case):
    marker = tmp_path / "MARKER"
    fmt, src = _convert_source(case, tmp_path, marker)
    dst = tmp_path / "dst"
    o = cli(capsys, "convert", "--from", fmt, src, dst)
    assert_clean_error(o, *CONVERT_CASES[case])
    assert not marker.exists(), "convert ran code from a pickle"
    assert not dst.exists() or not any(dst.iterdir())


@pytest.mark.parametrize(
    "name", ["with space", "quote'single", 'quote"double', "meta;$(touch PWNED)`touch PWNED`|&>x", "-starts-with-dash"]
)
def test_model_dir_paths_with_shell_characters(capsys, model_dir, tmp_path, name, monkeypatch, wav):
    """A model directory's path is a path: spaces, quotes and shell metacharacters load and run as any other."""
    monkeypatch.chdir(tmp_path)
    d = tmp_path / name
    shutil.copytree(model_dir, d)
    assert codeckit.load(d).n_levels == 3
    o = cli(capsys, "info", f"./{name}")
    assert o.rc == 0, o.err
    o = cli(capsys, "tokenize", wav, "--model", f"./{name}", "--out", tmp_path / f"out {name}")
    assert o.rc == 0, o.err
    assert (tmp_path / f"out {name}" / "ok.tokens.safetensors").is_file()
    assert not any(p.name in ("PWNED", "x") for p in tmp_path.iterdir())
