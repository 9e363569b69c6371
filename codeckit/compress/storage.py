"""A context model in its codec's model directory: `context_model.safetensors` (the tables, with config and
codec spec in its metadata: the one file loading reads, written atomically) and `context_model.json` (the
same config and spec, the model's identity and fit statistics, for people and scripts; never read back)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

from codeckit.compress.errors import CompressError
from codeckit.compress.model import CodecSpec, ContextConfig, ContextModel
from codeckit.compress.tables import CountTable
from codeckit.fileio import atomic_path, read_safetensors, write_text_atomic

MODEL_FILE = "context_model.safetensors"
INFO_FILE = "context_model.json"
FORMAT = "codeckit.context_model"
VERSION = 1


def has_context_model(model_dir: str | os.PathLike) -> bool:
    """Whether `model_dir` holds a fitted context model."""
    return (Path(model_dir) / MODEL_FILE).is_file()


def save_context_model(model: ContextModel, model_dir: str | os.PathLike, info: dict[str, Any] | None = None) -> Path:
    """Write the model's tables (atomically) and its JSON description into `model_dir`; the tables' path."""
    d = Path(model_dir)
    meta = {
        "format": FORMAT,
        "version": str(VERSION),
        "config": json.dumps(asdict(model.config)),
        "spec": json.dumps(asdict(model.spec)),
    }
    tensors = {k: np.ascontiguousarray(v) for k, v in model.tensors().items()}
    with atomic_path(d / MODEL_FILE) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    summary = {
        "note": f"written for reading; the model is {MODEL_FILE}",
        "identity": model.identity,
        "config": asdict(model.config),
        "spec": asdict(model.spec),
        "entries": model.n_entries(),
        "bytes": (d / MODEL_FILE).stat().st_size,
        **(info or {}),
    }
    write_text_atomic(d / INFO_FILE, json.dumps(summary, indent=2) + "\n")
    return d / MODEL_FILE


def load_context_model(model_dir: str | os.PathLike) -> ContextModel:
    """Read the context model of `model_dir`, saying in one sentence what is missing or wrong."""
    p = Path(model_dir) / MODEL_FILE
    if not p.is_file():
        raise CompressError(
            f"no context model in {Path(model_dir)}; fit one with `codeckit compress fit --model {model_dir} DATA...`"
        )
    meta, tensors = read_safetensors(p, "np", CompressError, "file")
    if meta.get("format") != FORMAT or meta.get("version") != str(VERSION):
        raise CompressError(f"{p}: not a version-{VERSION} codeckit context model")
    try:
        config = ContextConfig(**json.loads(meta["config"]))
        spec = CodecSpec(**json.loads(meta["spec"]))
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise CompressError(f"{p}: bad config or codec spec in the metadata ({e})") from None
    config.check()
    try:
        return _build(config, spec, tensors)
    except KeyError as e:
        raise CompressError(f"{p}: missing tensor {e}") from None
    except CompressError as e:
        raise CompressError(f"{p}: {e}") from None


def _build(config: ContextConfig, spec: CodecSpec, tensors: dict[str, np.ndarray]) -> ContextModel:
    from codeckit.compress.contexts import level_stages

    unigrams, tables = [], []
    for lv in range(spec.levels):
        unigrams.append(tensors[f"level{lv}.unigram"])
        n = len(level_stages(config.stages, lv, spec.codebook_sizes, config.buckets))
        tables.append(
            [
                CountTable(
                    tensors[f"level{lv}.stage{s}.indptr"].astype(np.int64),
                    tensors[f"level{lv}.stage{s}.symbols"].astype(np.int32),
                    tensors[f"level{lv}.stage{s}.counts"].astype(np.int32),
                )
                for s in range(n)
            ]
        )
    return ContextModel(config, spec, unigrams, tables)
