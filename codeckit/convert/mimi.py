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

import copy
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from codeckit.errors import ModelDirError

MIMI_WEIGHTS_NAME = "tokenizer-e351c8d8-checkpoint125.safetensors"
MIMI_CONFIG_NAME = "mimi_config.json"
MIMI_SAMPLE_RATE = 24000
MIMI_FRAME_RATE = 12.5
MIMI_EPSILON = 1e-5  # moshi's EuclideanCodebook: codebook = embedding_sum / cluster_usage.clamp(min=epsilon)
MIMI_SEANET: dict[str, Any] = {
    "channels": 1,
    "dimension": 512,
    "causal": True,
    "n_filters": 64,
    "n_residual_layers": 1,
    "activation": "ELU",
    "compress": 2,
    "dilation_base": 2,
    "disable_norm_outer_blocks": 0,
    "kernel_size": 7,
    "residual_kernel_size": 3,
    "last_kernel_size": 3,
    "norm": "none",
    "pad_mode": "constant",
    "ratios": [8, 6, 5, 4],
    "true_skip": True,
}
MIMI_QUANTIZER: dict[str, Any] = {
    "dimension": 256,
    "n_q": 32,
    "n_q_semantic": 1,
    "bins": 2048,
    "input_dimension": 512,
    "output_dimension": 512,
}
MIMI_TRANSFORMER: dict[str, Any] = {
    "d_model": 512,
    "num_heads": 8,
    "num_layers": 8,
    "causal": True,
    "layer_scale": 0.01,
    "context": 250,
    "conv_layout": True,
    "max_period": 10000,
    "gating": "none",
    "norm": "layer_norm",
    "positional_embedding": "rope",
    "dim_feedforward": 2048,
    "input_dimension": 512,
    "output_dimensions": [512],
}
MIMI_CONFIG: dict[str, Any] = {
    "sample_rate": MIMI_SAMPLE_RATE,
    "channels": 1,
    "frame_rate": MIMI_FRAME_RATE,
    "seanet": MIMI_SEANET,
    "quantizer": MIMI_QUANTIZER,
    "transformer": MIMI_TRANSFORMER,
}
# Keys moshi's constructors take that only matter for training; accepted and ignored.
_TRAINING_ONLY = {
    "quantizer": {"q_dropout", "no_quantization_rate", "decay", "threshold_usage_ratio", "replaced_usage_ratio"},
    "transformer": {"kv_repeat", "betas", "positional_scale", "checkpointing", "quantize"},
}
# Values the codeckit layers reproduce; any other is refused with its key named.
_REQUIRED = {
    "seanet": {"causal": True, "activation": "ELU"},
    "transformer": {"causal": True, "conv_layout": True, "gating": "none", "norm": "layer_norm",
                    "positional_embedding": "rope", "kv_repeat": 1},
}  # fmt: skip
_SECTIONS = {"seanet": MIMI_SEANET, "quantizer": MIMI_QUANTIZER, "transformer": MIMI_TRANSFORMER}
_CODEBOOK = re.compile(r"^quantizer\.(rvq_first|rvq_rest)\.vq\.layers\.(\d+)\._codebook\.(\w+)$")
_CODEBOOK_NAMES = {  # moshi's current and legacy buffer names
    "embedding_sum": "embedding_sum", "embed_sum": "embedding_sum", "embed_avg": "embedding_sum",
    "cluster_usage": "cluster_usage", "cluster_size": "cluster_usage",
    "_initialized": "initialized", "inited": "initialized",
}  # fmt: skip


def mimi_config(config: Mapping[str, Any] | None = None, source: str = "Mimi config") -> dict[str, Any]:
    """The full moshi-style Mimi config: `config`'s keys over the released ones, checked key by key."""
    config = dict(config or {})
    known = set(MIMI_CONFIG)
    out = copy.deepcopy(MIMI_CONFIG)
    for key, value in config.items():
        if key not in known:
            raise ModelDirError(f"{source}: unknown Mimi config key '{key}' (known: {', '.join(sorted(known))})")
        if key in _SECTIONS:
            if not isinstance(value, Mapping):
                raise ModelDirError(f"{source}: Mimi config '{key}' must be a mapping, got {type(value).__name__}")
            allowed = set(_SECTIONS[key]) | _TRAINING_ONLY.get(key, set())
            for sub, v in value.items():
                if sub not in allowed:
                    raise ModelDirError(
                        f"{source}: unknown Mimi config key '{key}.{sub}' (known: {', '.join(sorted(allowed))})"
                    )
                out[key][sub] = v
        else:
            out[key] = value
    for section, required in _REQUIRED.items():
        for sub, want in required.items():
            got = out[section].get(sub, want)
            if got != want:
                raise ModelDirError(
                    f"{source}: Mimi config '{section}.{sub}' is {got!r}; codeckit supports only {want!r}"
                )
    seanet, q, tr = out["seanet"], out["quantizer"], out["transformer"]
    if seanet["pad_mode"] not in ("constant", "zeros"):
        raise ModelDirError(f"{source}: Mimi config 'seanet.pad_mode' is {seanet['pad_mode']!r}; only 'constant'")
    if seanet["norm"] not in ("none", "weight_norm"):
        raise ModelDirError(f"{source}: Mimi config 'seanet.norm' is {seanet['norm']!r}; only 'none' or 'weight_norm'")
    if seanet["norm"] != "none" and seanet["disable_norm_outer_blocks"]:
        raise ModelDirError(f"{source}: Mimi config 'seanet.disable_norm_outer_blocks' must be 0 with weight norm")
    dim = seanet["dimension"]
    if q["input_dimension"] != dim or q["output_dimension"] != dim:
        raise ModelDirError(
            f"{source}: Mimi config quantizer input/output dimensions must equal seanet.dimension {dim}"
        )
    if tr["input_dimension"] != dim or list(tr["output_dimensions"]) != [dim]:
        raise ModelDirError(
            f"{source}: Mimi config transformer input_dimension / output_dimensions must be {dim} / [{dim}]"
        )
    hop = 1
    for r in seanet["ratios"]:
        hop *= int(r)
    stride = out["sample_rate"] / hop / float(out["frame_rate"])
    if stride < 1 or stride != int(stride):
        raise ModelDirError(
            f"{source}: Mimi config frame_rate {out['frame_rate']} is not the SEANet frame rate "
            f"{out['sample_rate'] / hop} divided by a whole number"
        )
    return out


def mimi_model_config(
    config: Mapping[str, Any], n_codebooks: int, channel_wise_upsample: bool = True
) -> dict[str, Any]:
    """The codeckit `model:` section for a full Mimi config (from `mimi_config`) with `n_codebooks` levels."""
    s, q, t = config["seanet"], config["quantizer"], config["transformer"]
    seanet = {
        "channels": int(s["channels"]),
        "dimension": int(s["dimension"]),
        "n_filters": int(s["n_filters"]),
        "ratios": [int(r) for r in s["ratios"]],
        "n_residual_layers": int(s["n_residual_layers"]),
        "kernel_size": int(s["kernel_size"]),
        "last_kernel_size": int(s["last_kernel_size"]),
        "residual_kernel_size": int(s["residual_kernel_size"]),
        "dilation_base": int(s["dilation_base"]),
        "compress": int(s["compress"]),
        "true_skip": bool(s["true_skip"]),
        "lstm": 0,
        "causal": True,
        "norm": str(s["norm"]),
        "pad_mode": "zeros",
    }
    transformer = {
        "d_model": int(t["d_model"]),
        "num_heads": int(t["num_heads"]),
        "num_layers": int(t["num_layers"]),
        "dim_feedforward": int(t["dim_feedforward"]),
        "context": None if t["context"] is None else int(t["context"]),
        "layer_scale": None if t["layer_scale"] is None else float(t["layer_scale"]),
        "max_period": float(t["max_period"]),
    }
    hop = 1
    for r in seanet["ratios"]:
        hop *= r
    stride = int(round(config["sample_rate"] / hop / float(config["frame_rate"])))
    level = {
        "name": "vq",
        "dim": int(q["dimension"]),
        "codebook_size": int(q["bins"]),
        "update": "ema",
        "decay": float(q.get("decay", 0.99)),
        "epsilon": MIMI_EPSILON,
    }
    return {
        "sample_rate": int(config["sample_rate"]),
        "name": "codec",
        "channels": int(config["channels"]),
        "encoder": {"name": "mimi", "seanet": seanet, "transformer": transformer, "downsample_stride": stride},
        "quantizer": {
            "name": "split_rvq",
            "dim": int(q["input_dimension"]),
            "n_levels": int(n_codebooks),
            "n_semantic": int(q["n_q_semantic"]),
            "level": level,
        },
        "decoder": {
            "name": "mimi",
            "seanet": copy.deepcopy(seanet),
            "transformer": dict(transformer),
            "upsample_stride": stride,
            "upsample_channel_wise": bool(channel_wise_upsample),
        },
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelDirError(f"{path}: cannot read JSON ({e})") from None
    if not isinstance(data, dict):
        raise ModelDirError(f"{path}: expected a JSON object")
    return data


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
