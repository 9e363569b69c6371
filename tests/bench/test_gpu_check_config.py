"""benches/gpu_check/cfg.py: the GPU check's copy of a recipe config is a valid training config that reads the
given list, logs often, and takes train settings given as key=value."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from codeckit.train.config import training_config_from_dict

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "egs" / "libritts" / "codec" / "conf"


@pytest.mark.parametrize("name", ["gpu_vocos_pitch_24khz", "gpu_vocos_fsq_24khz"])
def test_gpu_check_config_is_valid_and_overridden(tmp_path, name):
    out = tmp_path / f"{name}.yaml"
    cmd = [sys.executable, str(ROOT / "benches" / "gpu_check" / "cfg.py"), str(CONF / f"{name}.yaml"), str(out)]
    subprocess.run([*cmd, "lists/train.scp", "compile=all", "lr=0.001"], check=True)
    data = yaml.safe_load(out.read_text())
    config = training_config_from_dict(data, source=str(out))
    assert config.data.train == "lists/train.scp"
    assert (config.train.log_every, config.train.sample_every) == (25, 0)
    assert config.train.compile == "all" and config.train.lr == pytest.approx(0.001)
    original = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    assert data["model"] == original["model"] and data["discriminators"] == original["discriminators"]
