"""Discriminators: mpd, msd, msstft (EnCodec), mrd (DAC multi-band STFT), mrsd (Vocos magnitude spectrograms).

Importing registers them.

`build_discriminators(specs)` builds any set of them from the `discriminators:` section of a
training config, a list of `{name: ..., **kwargs}` mappings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from codeckit.discriminators import mpd, mrd, mrsd, msd, msstft  # noqa: F401  (register)
from codeckit.discriminators.base import DiscriminatorOutput, Discriminators
from codeckit.registry import DISCRIMINATORS


def build_discriminators(
    specs: Sequence[Mapping[str, Any] | str], channels: int = 1, source: str = "config"
) -> Discriminators:
    """Build every discriminator in `specs` (in order) for audio with `channels` channels."""
    parts = []
    for i, spec in enumerate(specs):
        spec = {"name": spec} if isinstance(spec, str) else dict(spec)
        spec.setdefault("channels", channels)
        parts.append(DISCRIMINATORS.build(spec, source=f"{source}: discriminators[{i}]"))
    return Discriminators(parts)


__all__ = ["DiscriminatorOutput", "Discriminators", "build_discriminators"]
