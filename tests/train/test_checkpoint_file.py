"""Training checkpoints: safetensors plus a JSON tree, read back to the same nested state; no pickle."""

import pytest
import torch

from codeckit.train.checkpoint import CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint


def test_nested_state_round_trips_exactly(tmp_path):
    w = torch.randn(3, 4)
    state = {
        "model": {"enc.weight": w, "enc.bias": w[0]},  # a view sharing storage is stored on its own
        "optimizer": {
            "state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.ones(2)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.8, 0.99), "params": [0]}],
        },
        "step": 7,
        "rng": {"python": {"version": 3, "gauss": None}, "name": "MT19937"},
        "flag": True,
    }
    path = save_checkpoint(tmp_path, 7, state, keep=2)
    assert path.name == "step_00000007.safetensors"
    assert path.read_bytes()[:1] != b"\x80"  # not a pickle
    back = load_checkpoint(path)
    assert back["step"] == 7 and back["flag"] is True and back["rng"] == state["rng"]
    assert torch.equal(back["model"]["enc.weight"], w) and torch.equal(back["model"]["enc.bias"], w[0])
    assert list(back["optimizer"]["state"]) == [0]  # int keys stay ints
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.99)
    assert torch.equal(back["optimizer"]["state"][0]["exp_avg"], torch.ones(2))


def test_keeps_the_newest_k(tmp_path):
    for step in (10, 20, 30):
        save_checkpoint(tmp_path, step, {"x": torch.zeros(1)}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [20, 30]


def test_unreadable_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "step_00000001.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="step_00000001.safetensors"):
        load_checkpoint(bad)


def test_unstorable_value_names_its_place(tmp_path):
    with pytest.raises(TypeError, match="optimizer/fn"):
        save_checkpoint(tmp_path, 1, {"optimizer": {"fn": object()}}, keep=1)


def test_unsupported_key_type_is_named(tmp_path):
    with pytest.raises(TypeError, match="tuple"):
        save_checkpoint(tmp_path, 1, {"x": {(1, 2): torch.zeros(1)}}, keep=1)
