"""A codec's identity: a SHA-256 over its config and every tensor of its state dict.

Token files carry it, so codes are never decoded by a codec that did not make them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import torch


def identity_hash(config: Mapping[str, Any], state_dict: Mapping[str, torch.Tensor]) -> str:
    """Hex SHA-256 of the config (canonical JSON) and each tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def codec_identity(codec: torch.nn.Module) -> str:
    """`identity_hash` of a codec built by `build_codec` (its `config` and weights)."""
    from codeckit.config import to_dict

    config = getattr(codec, "config", None)
    cfg = to_dict(config) if config is not None else {}
    return identity_hash(cfg, codec.state_dict())
