"""Convert a moshi-format Mimi checkpoint (Kyutai's codec of Moshi, Sesame CSM, Kyutai TTS) to a codeckit model dir.

The source is the tokenizer file as the `moshi` package loads it (e.g. `tokenizer-e351c8d8-checkpoint125.safetensors`
in kyutai/moshiko-pytorch-bf16: the state dict of moshi's `MimiModel`), a folder or hub cache folder holding one, or
such a state dict in memory. Safetensors are read as they are; a `.pt` / `.bin` only with
`torch.load(weights_only=True)`. bf16 tensors become float32.

The architecture comes from a moshi-style Mimi config (`sample_rate`, `channels`, `frame_rate`, and `seanet`,
`transformer`, `quantizer` sections as in moshi's `loaders._mimi_config`): the `config` argument (a mapping or a
JSON file), else a `mimi_config.json` beside the weights (or the one a Kyutai `config.json` names in
`mimi_config_name`), else the released config (`MIMI_CONFIG`). Keys a config leaves out take the released values.

Key mapping (moshi -> codeckit): `encoder.model.N` / `decoder.model.N` -> `encoder.seanet.layers.N` /
`decoder.seanet.layers.N`, the wrapped convs `.conv.conv.` / `.convtr.convtr.` -> `.conv.`;
`{encoder,decoder}_transformer.transformer.layers.N.` -> `{encoder,decoder}.transformer.layers.N.` with
`self_attn.in_proj_weight` (or `in_projs.0.weight`) -> `attn.in_proj.weight`, `self_attn.out_proj.weight` (or
`out_projs.0.weight`) -> `attn.out_proj.weight`, `layer_scale_{1,2}` -> `scale{1,2}`; `downsample.conv.conv.conv` ->
`encoder.downsample.conv`, `upsample.convtr.convtr.convtr` -> `decoder.upsample.conv`; `quantizer.rvq_first` /
`quantizer.rvq_rest` -> `quantizer.semantic` / `quantizer.acoustic` (`input_proj` / `output_proj` -> `in_proj` /
`out_proj`), and each codebook's `embedding_sum` / `cluster_usage` -> `rvq.levels.N.embed_avg` / `cluster_size`, with
the lookup table `embed = embedding_sum / cluster_usage.clamp(min=1e-5)` as moshi computes it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from codeckit.convert.mimi_config import (
    MIMI_CONFIG,
    MIMI_EPSILON,
    MIMI_FRAME_RATE,
    MIMI_QUANTIZER,
    MIMI_SAMPLE_RATE,
    MIMI_SEANET,
    MIMI_TRANSFORMER,
    mimi_config,
    mimi_model_config,
)
from codeckit.errors import ModelDirError
from codeckit.modeldir import read_mapping

__all__ = [  # the config part lives in mimi_config.py; its names stay importable from here
    "MIMI_CONFIG", "MIMI_CONFIG_NAME", "MIMI_EPSILON", "MIMI_FRAME_RATE", "MIMI_QUANTIZER", "MIMI_SAMPLE_RATE",
    "MIMI_SEANET", "MIMI_TRANSFORMER", "MIMI_WEIGHTS_NAME", "convert_mimi", "find_mimi_files", "map_mimi_state",
    "mimi_config", "mimi_model_config",
]  # fmt: skip

MIMI_WEIGHTS_NAME = "tokenizer-e351c8d8-checkpoint125.safetensors"
MIMI_CONFIG_NAME = "mimi_config.json"
_CODEBOOK = re.compile(r"^quantizer\.(rvq_first|rvq_rest)\.vq\.layers\.(\d+)\._codebook\.(\w+)$")
_CODEBOOK_NAMES = {  # moshi's current and legacy buffer names
    "embedding_sum": "embedding_sum", "embed_sum": "embedding_sum", "embed_avg": "embedding_sum",
    "cluster_usage": "cluster_usage", "cluster_size": "cluster_usage",
    "_initialized": "initialized", "inited": "initialized",
}  # fmt: skip


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in the file `path` (a Mimi or Kyutai config), else a one-line ModelDirError."""
    errors = (OSError, json.JSONDecodeError, UnicodeDecodeError)
    return read_mapping(path, json.loads, errors, "cannot read JSON", "expected a JSON object")


def find_mimi_files(src: str | os.PathLike) -> tuple[Path, Path | None]:
    """(weights, Mimi config JSON or None) for a tokenizer file, a folder holding one, or a hub cache folder."""
    p = Path(src)
    if not p.exists():
        raise ModelDirError(f"Mimi source not found: {p}")
    if p.is_file():
        folder, weights = p.parent, p
    else:
        folder = p
        snapshots = sorted((d for d in (p / "snapshots").glob("*") if d.is_dir()), key=lambda f: f.stat().st_mtime)
        if not any(p.glob("*.safetensors")) and snapshots:
            folder = snapshots[-1]
        kyutai = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
        name = kyutai.get("mimi_name") or MIMI_WEIGHTS_NAME
        found = [folder / name] if (folder / name).is_file() else sorted(folder.glob("tokenizer*.safetensors"))
        if not found:
            found = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.pt")) + sorted(folder.glob("*.bin"))
        if len(found) != 1:
            names = ", ".join(f.name for f in found) or "none"
            raise ModelDirError(f"{folder}: expected one Mimi checkpoint (e.g. {MIMI_WEIGHTS_NAME}), found {names}")
        weights = found[0]
    kyutai = _read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
    config = folder / (kyutai.get("mimi_config_name") or MIMI_CONFIG_NAME)
    return weights, config if config.is_file() else None


def _moshi_key(key: str) -> str:
    """A moshi MimiModel tensor name (other than a codebook buffer) to codeckit's."""
    key = re.sub(r"\.weight_g$", ".parametrizations.weight.original0", key)
    key = re.sub(r"\.weight_v$", ".parametrizations.weight.original1", key)
    key = re.sub(r"^(encoder|decoder)\.model\.", r"\1.seanet.layers.", key)
    key = re.sub(r"^downsample\.conv\.conv\.conv\.", "encoder.downsample.conv.", key)
    key = re.sub(r"^upsample\.convtr\.convtr\.convtr\.", "decoder.upsample.conv.", key)
    key = key.replace(".conv.conv.", ".conv.").replace(".convtr.convtr.", ".conv.")
    key = re.sub(r"^(encoder|decoder)_transformer\.transformer\.layers\.", r"\1.transformer.layers.", key)
    key = re.sub(r"^(encoder|decoder)_transformer\.input_proj\.", r"\1.transformer.input_proj.", key)
    key = re.sub(r"^(encoder|decoder)_transformer\.output_projs\.0\.", r"\1.transformer.output_proj.", key)
    key = re.sub(r"\.self_attn\.(in_proj_weight|in_projs\.0\.weight|in_proj\.weight)$", ".attn.in_proj.weight", key)
    key = re.sub(r"\.self_attn\.(out_projs\.0|out_proj)\.weight$", ".attn.out_proj.weight", key)
    key = re.sub(r"\.layer_scale_([12])\.scale$", r".scale\1.scale", key)
    key = re.sub(r"^quantizer\.rvq_first\.", "quantizer.semantic.", key)
    key = re.sub(r"^quantizer\.rvq_rest\.", "quantizer.acoustic.", key)
    return re.sub(r"^(quantizer\.\w+)\.(in|out)put_proj\.weight$", r"\1.\2_proj.weight", key)


def _codebook_counts(state: Mapping[str, torch.Tensor], source: str) -> tuple[int, int]:
    """(semantic, acoustic) codebook counts in a moshi Mimi state dict."""
    counts = {"rvq_first": set(), "rvq_rest": set()}
    for key in state:
        if m := _CODEBOOK.match(key):
            counts[m.group(1)].add(int(m.group(2)))
    if any(k.startswith("quantizer.semantic_residual_vector_quantizer") or ".q_proj." in k for k in state):
        raise ModelDirError(
            f"{source}: this is the transformers-format Mimi (kyutai/mimi); convert the moshi-format tokenizer file "
            f"instead ({MIMI_WEIGHTS_NAME} in kyutai/moshiko-pytorch-bf16)"
        )
    if not counts["rvq_first"] or not any(k.startswith("encoder.model.") for k in state):
        raise ModelDirError(f"{source}: not a moshi Mimi state dict (no encoder.model.* or quantizer.rvq_first.* keys)")
    for name, found in counts.items():
        if found != set(range(len(found))):
            raise ModelDirError(f"{source}: quantizer.{name} codebooks are not numbered 0..{len(found) - 1}")
    return len(counts["rvq_first"]), len(counts["rvq_rest"])


def map_mimi_state(
    state: Mapping[str, torch.Tensor], n_semantic: int, n_codebooks: int, source: str = "Mimi state dict"
) -> dict[str, torch.Tensor]:
    """moshi Mimi tensors under codeckit's names (float32), keeping the first `n_codebooks` codebooks."""
    out: dict[str, torch.Tensor] = {}
    books: dict[tuple[str, int], dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        value = value.float() if value.is_floating_point() else value
        if m := _CODEBOOK.match(key):
            branch, idx, leaf = m.group(1), int(m.group(2)), m.group(3)
            if leaf == "embed":
                continue  # a cached lookup table some checkpoints carry; recomputed below as moshi does
            if leaf not in _CODEBOOK_NAMES:
                raise ModelDirError(f"{source}: unknown codebook tensor '{key}'")
            level = idx if branch == "rvq_first" else n_semantic + idx
            if level < n_codebooks:
                books.setdefault((branch, idx), {})[_CODEBOOK_NAMES[leaf]] = value
            continue
        out[_moshi_key(key)] = value
    for (branch, idx), parts in sorted(books.items()):
        if "embedding_sum" not in parts or "cluster_usage" not in parts:
            raise ModelDirError(f"{source}: quantizer.{branch} codebook {idx} lacks embedding_sum or cluster_usage")
        total, usage = parts["embedding_sum"], parts["cluster_usage"]
        if total.dim() != 2 or usage.shape != total.shape[:1]:
            raise ModelDirError(
                f"{source}: quantizer.{branch} codebook {idx}: embedding_sum {tuple(total.shape)} and cluster_usage "
                f"{tuple(usage.shape)} do not fit"
            )
        prefix = f"quantizer.{'semantic' if branch == 'rvq_first' else 'acoustic'}.rvq.levels.{idx}."
        out[prefix + "embed"] = total / usage.clamp(min=MIMI_EPSILON)[:, None]
        out[prefix + "embed_avg"] = total
        out[prefix + "cluster_size"] = usage
        out[prefix + "inited"] = torch.ones(1)
    return out


def _read(src: str | os.PathLike | Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str, Path | None]:
    """(state dict, its description, a config JSON found beside it or None)."""
    if isinstance(src, Mapping):
        if not all(isinstance(v, torch.Tensor) for v in src.values()):
            raise ModelDirError("Mimi state dict: expected a mapping of tensor names to tensors")
        return {re.sub(r"^module\.", "", k): v for k, v in src.items()}, "Mimi state dict", None
    from codeckit.convert.weights import read_weights  # safetensors / torch.load(weights_only=True), unwrapped

    weights, config = find_mimi_files(src)
    return read_weights(weights), str(weights), config


def convert_mimi(
    src: str | os.PathLike | Mapping[str, torch.Tensor],
    dst: str | os.PathLike,
    origin: str | None = None,
    n_codebooks: int | None = None,
    config: Mapping[str, Any] | str | os.PathLike | None = None,
) -> Path:
    """Convert the moshi-format Mimi checkpoint `src` into the codeckit model directory `dst`; returns `dst`.

    `n_codebooks` keeps the first n codebooks (default: all the checkpoint has, 32 for the released Mimi; Moshi
    uses 8, CSM and Kyutai TTS 32); fewer can still be picked per call with `n_quantizers`. `config` is a moshi-style
    Mimi config (mapping or JSON path; see the module docstring). `origin` is the source recorded in config.yaml
    (default: the checkpoint's absolute path; e.g. a hub commit)."""
    from codeckit.codecs import build_codec, save_codec
    from codeckit.modeldir import load_state_checked

    state, source, found_config = _read(src)
    if config is None and found_config is not None:
        config = found_config
    config_source = source
    if config is not None and not isinstance(config, Mapping):
        config_source = str(config)
        config = _read_json(Path(config))
    cfg = mimi_config(config, config_source)
    n_semantic, n_acoustic = _codebook_counts(state, source)
    if n_semantic != int(cfg["quantizer"]["n_q_semantic"]):
        raise ModelDirError(
            f"{source}: {n_semantic} semantic codebooks, but the Mimi config says {cfg['quantizer']['n_q_semantic']}"
        )
    total = n_semantic + n_acoustic
    n = total if n_codebooks is None else int(n_codebooks)
    if not n_semantic < n <= total:
        raise ModelDirError(f"{source}: n_codebooks must be in {n_semantic + 1}..{total}, got {n_codebooks}")
    mapped = map_mimi_state(state, n_semantic, n, source)
    up = mapped.get("decoder.upsample.conv.weight")
    channel_wise = up is None or up.shape[1] == 1
    codec = build_codec(mimi_model_config(cfg, n, channel_wise), source=config_source)
    load_state_checked(codec, mapped, source=source)
    if origin is None:
        origin = source if isinstance(src, Mapping) else str(Path(source).resolve())
    extra = {"converted_from": {"format": "mimi", "source": origin}}
    return save_codec(codec, dst, extra=extra)
