"""Shipped model configs: `codeckit/configs/models/<name>.yaml`, each a mapping with a `model:` section.

`model_config(name)` returns the whole file as a dict; build it with
`codeckit.codecs.build_codec(model_config(name)["model"])`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeckit.config import read_yaml
from codeckit.errors import ConfigError

MODELS_DIR = Path(__file__).resolve().parent / "models"


def model_names() -> list[str]:
    """Names of every shipped model config, sorted."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.yaml"))


def model_config_path(name: str) -> Path:
    """Path of the shipped config `name`; an unknown name lists the known ones."""
    path = MODELS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown model config '{name}' (known: {', '.join(model_names())})")
    return path


def model_config(name: str) -> dict[str, Any]:
    """The shipped config `name` as a dict with a top-level `model:` section (a CodecConfig mapping)."""
    path = model_config_path(name)
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ConfigError(f"{path}: expected a mapping with a 'model' section")
    return data
