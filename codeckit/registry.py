"""Registries by kind: a config `{name: ..., **kwargs}` builds the part registered under `name`.

A new encoder, quantizer or discriminator is a new file plus a `@REGISTRY.register("name")`
line; nothing in the trainer or the codec changes.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import types
import typing
from collections import abc
from collections.abc import Callable, Mapping
from typing import Any

from codeckit.config import _convert
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
        where = f"{source}: {self.kind} '{name}'"
        check_kwargs(ctor, kwargs, where)
        try:
            return ctor(**kwargs)
        except (TypeError, ValueError, RuntimeError) as e:  # a value the part refuses (ConfigError passes as is)
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"{where}: cannot be built from these keys ({type(e).__name__}: {e})") from None


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
    hints = _type_hints(ctor)
    for key, value in kwargs.items():
        if key in hints:
            _convert(_as_checkable(hints[key]), value, where, key)  # raises ConfigError naming the key


def _type_hints(ctor: Callable[..., Any]) -> dict[str, Any]:
    """The annotated parameter types of `ctor` (a class's `__init__`); {} where they cannot be resolved."""
    try:
        return typing.get_type_hints(ctor.__init__ if inspect.isclass(ctor) else ctor)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is simply not checked
        return {}


def _as_checkable(tp: Any) -> Any:
    """`Sequence[X]` as `list[X]` (which also accepts tuples) so that `codeckit.config` checks its items."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (abc.Sequence, abc.MutableSequence):
        return list[_as_checkable(args[0])] if args else list
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_as_checkable(a) for a in args)]
    return tp


ENCODERS = Registry("encoder", "codeckit.nn")
DECODERS = Registry("decoder", "codeckit.nn")
QUANTIZERS = Registry("quantizer", "codeckit.quantizers")
CODECS = Registry("codec", "codeckit.codecs")
DISCRIMINATORS = Registry("discriminator", "codeckit.discriminators")
LOSSES = Registry("loss", "codeckit.losses")
