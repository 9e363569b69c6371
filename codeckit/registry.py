"""Registries by kind: a config `{name: ..., **kwargs}` builds the part registered under `name`.

A new encoder, quantizer or discriminator is a new file plus a `@REGISTRY.register("name")`
line; nothing in the trainer or the codec changes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from codeckit.errors import ConfigError


class Registry:
    """Name -> constructor table for one kind of part (encoder, quantizer, ...)."""

    def __init__(self, kind: str, package: str):
        self.kind = kind
        self._package = package  # imported on first lookup so its modules register themselves
        self._items: dict[str, Callable[..., Any]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a class or factory under `name`."""

        def deco(obj: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            importlib.import_module(self._package)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._load()
        return sorted(self._items)

    def get(self, name: str) -> Callable[..., Any]:
        """The constructor registered as `name`; an unknown name lists the known ones."""
        self._load()
        if name not in self._items:
            raise ConfigError(f"unknown {self.kind} '{name}' (known: {', '.join(sorted(self._items)) or 'none'})")
        return self._items[name]

    def build(self, spec: Mapping[str, Any] | str, source: str = "config", **extra: Any) -> Any:
        """Build from `{name: ..., **kwargs}` (or a bare name); `extra` kwargs come from the caller."""
        if isinstance(spec, str):
            spec = {"name": spec}
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{source}: {self.kind} must be a mapping with a 'name', got {type(spec).__name__}")
        kwargs = dict(copy.deepcopy(spec))
        if "name" not in kwargs:
            raise ConfigError(f"{source}: {self.kind} needs a 'name' (known: {', '.join(self.names())})")
        name = kwargs.pop("name")
        ctor = self.get(name)
        kwargs.update(extra)
        check_kwargs(ctor, kwargs, f"{source}: {self.kind} '{name}'")
        return ctor(**kwargs)


def check_kwargs(ctor: Callable[..., Any], kwargs: Mapping[str, Any], where: str) -> None:
    """Raise ConfigError naming an unknown or missing keyword of `ctor`."""
    sig = inspect.signature(ctor)
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(f"{where}: unknown key '{key}' (known keys: {', '.join(accepted)})")
    for n, p in params.items():
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is p.empty and n not in kwargs:
            raise ConfigError(f"{where}: missing required key '{n}'")


ENCODERS = Registry("encoder", "codeckit.nn")
DECODERS = Registry("decoder", "codeckit.nn")
QUANTIZERS = Registry("quantizer", "codeckit.quantizers")
CODECS = Registry("codec", "codeckit.codecs")
DISCRIMINATORS = Registry("discriminator", "codeckit.discriminators")
LOSSES = Registry("loss", "codeckit.losses")
