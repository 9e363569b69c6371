"""`codeckit convert --from snac`: bad downloads are refused with one clear sentence."""

from __future__ import annotations

import json

import pytest
import torch

from codeckit.cli import main
from codeckit.convert.snac import find_snac_files, snac_model_config
from codeckit.errors import ModelDirError

TINY = dict(
    sampling_rate=24000,
    encoder_dim=8,
    encoder_rates=[2, 4],
    decoder_dim=32,
    decoder_rates=[4, 2],
    attn_window_size=None,
    codebook_size=64,
    codebook_dim=4,
    vq_strides=[2, 1],
)


def test_missing_config_and_weights(tmp_path, capsys):
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    assert main(["convert", "--from", "snac", str(tmp_path), str(tmp_path / "out")]) == 2
    assert "config.json" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    with pytest.raises(ModelDirError, match="no SNAC weights"):
        find_snac_files(empty)
    with pytest.raises(ModelDirError, match="not found"):
        find_snac_files(tmp_path / "nope")


def test_unknown_config_key_and_defaults():
    with pytest.raises(ModelDirError, match="unknown SNAC config key 'sample_rate'"):
        snac_model_config({"sample_rate": 24000})
    cfg = snac_model_config({})  # SNAC's own defaults: the 44.1 kHz layout
    assert cfg["sample_rate"] == 44100 and cfg["encoder"]["attn_window"] == 32
    assert cfg["quantizer"]["strides"] == [8, 4, 2, 1] and cfg["decoder"]["latent_dim"] == 1024


def test_pickle_with_code_is_refused(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    torch.save({"weights": torch.zeros(1), "evil": object()}, tmp_path / "pytorch_model.bin")
    assert main(["convert", "--from", "snac", str(tmp_path), str(tmp_path / "out")]) == 2
    assert "cannot read weights" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_wrong_shapes_are_named(tmp_path):
    snac = pytest.importorskip("snac")
    from codeckit.convert.snac import convert_snac

    ref = snac.SNAC(**TINY)
    state = ref.state_dict()
    (tmp_path / "config.json").write_text(json.dumps({**TINY, "codebook_size": 128}))
    torch.save(state, tmp_path / "pytorch_model.bin")
    with pytest.raises(ModelDirError, match=r"codebook\.weight.*shape \(64, 4\)"):
        convert_snac(tmp_path, tmp_path / "out")


def test_hub_cache_layout_and_weights_file(tmp_path):
    snac = pytest.importorskip("snac")
    from codeckit.convert.snac import convert_snac

    snap = tmp_path / "models--someone--snac" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps(TINY))
    torch.save(snac.SNAC(**TINY).state_dict(), snap / "pytorch_model.bin")
    assert find_snac_files(tmp_path / "models--someone--snac") == (snap / "config.json", snap / "pytorch_model.bin")
    assert find_snac_files(snap / "pytorch_model.bin")[0] == snap / "config.json"
    out = convert_snac(snap / "pytorch_model.bin", tmp_path / "out")
    assert (out / "model.safetensors").is_file() and (out / "config.yaml").is_file()
