"""The architecture of a Mimi checkpoint: moshi-style Mimi configs, checked, and their codeckit `model:` section.

A moshi-style config has `sample_rate`, `channels`, `frame_rate`, and `seanet`, `transformer`, `quantizer` sections
as in moshi's `loaders._mimi_config`; keys it leaves out take the released values (`MIMI_CONFIG`). See mimi.py for
where a conversion finds the config.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from codeckit.errors import ModelDirError

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
    hop = math.prod(int(r) for r in seanet["ratios"])
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
    q = config["quantizer"]
    seanet, transformer = _seanet_section(config["seanet"]), _transformer_section(config["transformer"])
    stride = int(round(config["sample_rate"] / math.prod(seanet["ratios"]) / float(config["frame_rate"])))
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


def _seanet_section(s: Mapping[str, Any]) -> dict[str, Any]:
    """codeckit's `seanet` settings for a moshi `seanet` section (causal, no LSTM, zero padding)."""
    return {
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


def _transformer_section(t: Mapping[str, Any]) -> dict[str, Any]:
    """codeckit's `transformer` settings for a moshi `transformer` section (the sizes, context and scales)."""
    return {
        "d_model": int(t["d_model"]),
        "num_heads": int(t["num_heads"]),
        "num_layers": int(t["num_layers"]),
        "dim_feedforward": int(t["dim_feedforward"]),
        "context": None if t["context"] is None else int(t["context"]),
        "layer_scale": None if t["layer_scale"] is None else float(t["layer_scale"]),
        "max_period": float(t["max_period"]),
    }
