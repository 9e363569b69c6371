"""Save a codec to a model directory and load it back, checking config and tensors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

import codeckit
from codeckit.codecs.base import Codec, CodecConfig, build_codec
from codeckit.config import to_dict
from codeckit.errors import ConfigError, ModelDirError
from codeckit.modeldir import CONFIG_NAME, load_state_checked, read_model_dir, save_model_dir


def save_codec(codec: Codec, path: str | os.PathLike, extra: dict[str, Any] | None = None) -> Path:
    """Write `codec` (built by `build_codec`, so it knows its config) as config.yaml + model.safetensors."""
    config = getattr(codec, "config", None)
    if not isinstance(config, CodecConfig):
        raise ModelDirError("codec has no CodecConfig attached; build it with codeckit.codecs.build_codec")
    model = to_dict(config)
    for_saving = getattr(codec.quantizer, "config_for_saving", None)  # parts whose config names an input file
    if callable(for_saving):
        model["quantizer"] = for_saving(dict(model["quantizer"]))
    data = {"codeckit_version": codeckit.__version__, "model": model, **(extra or {})}
    return save_model_dir(path, data, codec.state_dict())


def load_codec(path: str | os.PathLike, device: str | torch.device = "cpu") -> Codec:
    """Build the codec a model directory describes and load its weights (eval mode)."""
    config, tensors = read_model_dir(path)
    if "model" not in config:
        raise ModelDirError(f"{Path(path) / CONFIG_NAME}: no 'model' section")
    try:
        codec = build_codec(config["model"], source=str(Path(path) / CONFIG_NAME))
    except ConfigError as e:
        raise ModelDirError(str(e)) from None
    load_state_checked(codec, tensors, source=str(Path(path) / "model.safetensors"))
    return codec.to(device).eval()
