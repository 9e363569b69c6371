"""Model directories: `config.yaml` + `model.safetensors`, written atomically, checked on load."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from codeckit.errors import ModelDirError
from codeckit.fileio import atomic_path, write_text_atomic

CONFIG_NAME = "config.yaml"
WEIGHTS_NAME = "model.safetensors"
DEFAULT_CACHE = Path("~/.cache/codeckit/models")  # where `codeckit.load(name)` looks for a model by name


def save_model_dir(
    path: str | os.PathLike,
    config: Mapping[str, Any],
    state_dict: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write `config.yaml` and `model.safetensors` into `path`, each through a temporary name."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    # safetensors refuses tensors that share memory; a contiguous copy of each is exact.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    with atomic_path(p / WEIGHTS_NAME) as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata or {}))
    write_text_atomic(p / CONFIG_NAME, yaml.safe_dump(dict(config), sort_keys=False))
    return p


def read_model_dir(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a model directory's config and tensors, saying in one sentence what is wrong if anything."""
    p = Path(path)
    if not p.exists():
        raise ModelDirError(f"model directory not found: {p}")
    if not p.is_dir():
        raise ModelDirError(f"not a model directory (a file): {p}")
    cfg_path, w_path = p / CONFIG_NAME, p / WEIGHTS_NAME
    for f in (cfg_path, w_path):
        if not f.is_file():
            pickles = sorted(x.name for x in p.glob("*.bin")) + sorted(x.name for x in p.glob("*.pt*"))
            hint = f"; found {', '.join(pickles)}: convert it with `codeckit convert`" if pickles else ""
            raise ModelDirError(f"model directory {p} has no {f.name}{hint}")
    yaml_errors = (yaml.YAMLError, UnicodeDecodeError)
    config = read_mapping(cfg_path, yaml.safe_load, yaml_errors, "invalid YAML", "expected a mapping at top level")
    try:
        tensors = load_file(str(w_path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ModelDirError(f"{w_path}: cannot read safetensors file ({_one_line(e)})") from None
    return config, tensors


def read_mapping(
    path: Path,
    parse: Callable[[str], Any],
    errors: tuple[type[BaseException], ...],
    invalid: str,
    not_mapping: str,
) -> dict[str, Any]:
    """The mapping that `parse` (e.g. json.loads) reads from the file `path`, else a one-line ModelDirError.

    `errors` are the exceptions that mean an unreadable file, reported as `invalid`; a parsed value that is not
    a mapping is reported as `not_mapping`.
    """
    try:
        data = parse(path.read_text())
    except errors as e:
        raise ModelDirError(f"{path}: {invalid} ({_one_line(e)})") from None
    if not isinstance(data, dict):
        raise ModelDirError(f"{path}: {not_mapping}")
    return data


def _one_line(e: BaseException) -> str:
    """An exception's message on one line (YAML errors point at the line and column over several)."""
    return " ".join(str(e).split())


def load_state_checked(module: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Load `state` into `module` strictly; every missing, unexpected or misshapen tensor is named."""
    own = module.state_dict()
    problems = []
    for name in own.keys() - state.keys():
        problems.append(f"missing tensor '{name}' (expected shape {tuple(own[name].shape)})")
    for name in state.keys() - own.keys():
        problems.append(f"unexpected tensor '{name}' (shape {tuple(state[name].shape)})")
    for name in own.keys() & state.keys():
        if own[name].shape != state[name].shape:
            problems.append(f"tensor '{name}' has shape {tuple(state[name].shape)}, expected {tuple(own[name].shape)}")
    if problems:
        problems.sort()
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ModelDirError(f"{source}: " + "; ".join(problems[:5]) + more)
    module.load_state_dict(dict(state), strict=True)
