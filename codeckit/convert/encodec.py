"""Convert a released EnCodec 24 kHz checkpoint into a codeckit model directory (`encodec_24khz` config).

The source is the checkpoint file as downloaded by hand (`encodec_24khz-*.th`, a state dict), a folder
holding one, or a state dict in memory (e.g. `EncodecModel.encodec_model_24khz().state_dict()`). Pickled
files are read only with `torch.load(weights_only=True)`.

Key mapping (EnCodec -> codeckit): `encoder.model.N` / `decoder.model.N` -> `encoder.layers.N` /
`decoder.layers.N`; the doubly wrapped convs `.conv.conv.` / `.convtr.convtr.` -> `.conv.`; weight norm
`weight_g` / `weight_v` -> `parametrizations.weight.original0` / `original1`; codebooks
`quantizer.vq.layers.N._codebook.{embed,embed_avg,cluster_size,inited}` -> `quantizer.levels.N.*`.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from codeckit.errors import ModelDirError

WEIGHT_SUFFIXES = (".th", ".pt", ".pth", ".bin", ".ckpt", ".safetensors")
_LEVEL = re.compile(r"^quantizer\.vq\.layers\.(\d+)\._codebook\.")


def find_encodec_weights(src: str | os.PathLike) -> Path:
    """The checkpoint file at `src`, or the single checkpoint file inside the folder `src`."""
    path = Path(src)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES)
        if len(found) != 1:
            names = ", ".join(p.name for p in found) or "none"
            raise ModelDirError(f"{path}: expected one EnCodec checkpoint ({'/'.join(WEIGHT_SUFFIXES)}), found {names}")
        return found[0]
    if not path.is_file():
        raise ModelDirError(f"{path}: no such EnCodec checkpoint file")
    return path


def encodec_key(key: str) -> str:
    """An EnCodec state-dict key to codeckit's."""
    key = re.sub(r"^(encoder|decoder)\.model\.", r"\1.layers.", key)
    key = key.replace(".conv.conv.", ".conv.").replace(".convtr.convtr.", ".conv.")
    key = re.sub(r"\.weight_g$", ".parametrizations.weight.original0", key)
    key = re.sub(r"\.weight_v$", ".parametrizations.weight.original1", key)
    return _LEVEL.sub(r"quantizer.levels.\1.", key)


def encodec_model_config(state: Mapping[str, torch.Tensor], source: str) -> dict:
    """The `encodec_24khz` model config with as many quantizer levels as the checkpoint has."""
    from codeckit.configs import model_config

    if any(re.search(r"\.norm\.(weight|bias)$", k) for k in state):
        raise ModelDirError(
            f"{source}: this EnCodec checkpoint uses time-group norm (the 48 kHz model); only the 24 kHz "
            "weight-norm model converts"
        )
    levels = {int(m.group(1)) for k in state if (m := _LEVEL.match(k))}
    if not levels or not any(k.startswith("encoder.model.") for k in state):
        raise ModelDirError(f"{source}: not an EnCodec state dict (no encoder.model.* or quantizer.vq.layers.* keys)")
    n_levels = max(levels) + 1
    cfg = copy.deepcopy(model_config("encodec_24khz")["model"])
    q = cfg["quantizer"]
    q["n_levels"] = n_levels
    q["dropout_choices"] = [n for n in q["dropout_choices"] if n <= n_levels] or [n_levels]
    return cfg


def map_encodec_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """EnCodec tensors under codeckit's names (shapes are checked when loaded)."""
    return {encodec_key(k): v for k, v in state.items()}


def _read(src: str | os.PathLike | Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], str]:
    if isinstance(src, Mapping):
        state, source = src, "EnCodec state dict"
        if not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ModelDirError(f"{source}: expected a mapping of tensor names to tensors")
        return {re.sub(r"^module\.", "", k): v for k, v in state.items()}, source
    from codeckit.convert.weights import read_weights  # torch.load(weights_only=True) / safetensors, unwrapped

    path = find_encodec_weights(src)
    return read_weights(path), str(path)


def convert_encodec(
    src: str | os.PathLike | Mapping[str, torch.Tensor], dst: str | os.PathLike, origin: str | None = None
) -> Path:
    """Convert the EnCodec 24 kHz checkpoint `src` into the codeckit model directory `dst`; returns `dst`.

    `origin` is the source recorded in config.yaml (default: the checkpoint's absolute path; e.g. a hub commit)."""
    from codeckit.codecs import build_codec, save_codec
    from codeckit.modeldir import load_state_checked

    state, source = _read(src)
    codec = build_codec(encodec_model_config(state, source), source=source)
    target = codec.state_dict()
    mapped = {k: v.to(target[k].dtype) if k in target else v for k, v in map_encodec_state(state).items()}
    load_state_checked(codec, mapped, source=source)
    if origin is None:
        origin = source if isinstance(src, Mapping) else str(Path(source).resolve())
    return save_codec(codec, dst, extra={"converted_from": {"format": "encodec", "source": origin}})
