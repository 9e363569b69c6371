"""Model directories: config.yaml + model.safetensors, bit-exact round trips, clear errors."""

import pytest
import torch
from torch import nn

from codeckit.errors import ModelDirError
from codeckit.modeldir import load_state_checked, read_model_dir, save_model_dir


class Net(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.a = nn.Linear(3, width)
        self.b = nn.Conv1d(width, 2, 3)
        self.register_buffer("count", torch.arange(5, dtype=torch.int64))
        self.tied = self.a  # shared tensors must survive safetensors


def test_round_trip_bit_exact(tmp_path):
    torch.manual_seed(0)
    net = Net()
    cfg = {"model": {"width": 4}, "note": "x"}
    save_model_dir(tmp_path / "m", cfg, net.state_dict())
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.yaml", "model.safetensors"]
    config, tensors = read_model_dir(tmp_path / "m")
    assert config == cfg
    other = Net()
    load_state_checked(other, tensors, "m")
    for k, v in net.state_dict().items():
        assert torch.equal(v, other.state_dict()[k]) and v.dtype == other.state_dict()[k].dtype


def test_missing_files(tmp_path):
    with pytest.raises(ModelDirError, match="model directory not found"):
        read_model_dir(tmp_path / "none")
    d = tmp_path / "d"
    d.mkdir()
    (d / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelDirError, match="has no config.yaml; found pytorch_model.bin: convert it"):
        read_model_dir(d)
    (d / "config.yaml").write_text("model: {}\n")
    with pytest.raises(ModelDirError, match="has no model.safetensors"):
        read_model_dir(d)
    (d / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelDirError, match="model.safetensors: cannot read safetensors"):
        read_model_dir(d)
    (d / "config.yaml").write_text("model: [unclosed\n")
    with pytest.raises(ModelDirError, match="config.yaml: invalid YAML"):
        read_model_dir(d)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ModelDirError, match="not a model directory"):
        read_model_dir(f)


def test_mismatched_tensors_named():
    state = Net().state_dict()
    net = Net(width=4)
    bad = dict(state)
    bad["b.weight"] = torch.zeros(2, 5, 3)
    with pytest.raises(ModelDirError, match=r"tensor 'b.weight' has shape \(2, 5, 3\), expected \(2, 4, 3\)"):
        load_state_checked(net, bad, "src")
    missing = {k: v for k, v in state.items() if k != "a.bias"}
    with pytest.raises(ModelDirError, match=r"missing tensor 'a.bias' \(expected shape \(4,\)\)"):
        load_state_checked(net, missing, "src")
    extra = dict(state, ghost=torch.zeros(1))
    with pytest.raises(ModelDirError, match=r"unexpected tensor 'ghost' \(shape \(1,\)\)"):
        load_state_checked(net, extra, "src")


def test_save_is_atomic(tmp_path, monkeypatch):
    net = Net()
    save_model_dir(tmp_path, {"v": 1}, net.state_dict())
    import codeckit.modeldir as md

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(md, "save_file", boom)
    with pytest.raises(OSError):
        save_model_dir(tmp_path, {"v": 2}, Net().state_dict())
    config, tensors = read_model_dir(tmp_path)
    assert config == {"v": 1} and torch.equal(tensors["a.weight"], net.state_dict()["a.weight"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "model.safetensors"]
