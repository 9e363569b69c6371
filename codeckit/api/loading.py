"""Finding and loading a model: a model directory, a name in the model cache folder, or a hub model."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from codeckit.api.model import CodecModel
from codeckit.errors import ModelDirError
from codeckit.hub import fetch_hub_model, is_hub_spec
from codeckit.modeldir import DEFAULT_CACHE


def resolve_model(
    model: str | os.PathLike,
    cache_dir: str | os.PathLike | None = None,
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> Path:
    """A model directory path as given, a bare name looked up as `<cache_dir>/<name>`, or a hub model.

    `cache_dir` defaults to `~/.cache/codeckit/models`. `hf:ORG/NAME[@REVISION]` is downloaded from the hub at
    `endpoint` (into the hub client's cache, or `hf_cache_dir`), converted once and kept under `<cache_dir>/hf`
    (see `codeckit.hub`).
    """
    if is_hub_spec(model):
        return fetch_hub_model(model, cache_dir, endpoint=endpoint, hf_cache_dir=hf_cache_dir)
    p = Path(model).expanduser()
    if p.is_dir():
        return p
    if p.exists():
        raise ModelDirError(f"not a model directory (a file): {p}")
    name = str(model)
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
        cache = Path(cache_dir).expanduser() if cache_dir is not None else DEFAULT_CACHE.expanduser()
        if (cache / name).is_dir():
            return cache / name
        raise ModelDirError(
            f"no model directory '{name}' here and none at {cache / name}; pass a model directory path "
            "or put the model in the cache folder"
        )
    raise ModelDirError(f"model directory not found: {p}")


def load(
    model: str | os.PathLike,
    device: str | torch.device = "cpu",
    threads: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    chunk_seconds: float = 20.0,
    context_seconds: float = 2.0,
    endpoint: str | None = None,
    hf_cache_dir: str | os.PathLike | None = None,
) -> CodecModel:
    """Load a model directory, a name in `cache_dir` or a hub model `hf:ORG/NAME[@REVISION]`, on `device`.

    `threads` sets torch's intra-op CPU threads (process-wide) when given. `chunk_seconds` and
    `context_seconds` set the long-audio chunking described in `codeckit.api`'s docstring. `endpoint` and
    `hf_cache_dir` are the hub's URL and download cache for `hf:` models (default: the hub client's own).
    """
    from codeckit.codecs.storage import load_codec

    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(int(threads))
    path = resolve_model(model, cache_dir, endpoint=endpoint, hf_cache_dir=hf_cache_dir)
    return CodecModel(load_codec(path, device=device), chunk_seconds, context_seconds, path)
