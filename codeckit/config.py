"""YAML configs read into dataclasses that reject unknown keys, wrong types and missing keys.

A recipe's conf file is the whole truth about a run: every key it holds is checked
against a dataclass schema, and every error names the key and the file. A file may start from others
(`include: base.yaml`, or a list applied in order, paths relative to it) and override their keys:
mappings merge key by key, its own values win, lists and scalars replace.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from codeckit.errors import ConfigError
from codeckit.fileio import write_text_atomic

T = TypeVar("T")


INCLUDE_KEY = "include"  # top-level key naming the files a config starts from


def read_yaml(path: str | os.PathLike) -> Any:
    """Parse a YAML config file with its `include:`s composed, naming the file on any error."""
    p = Path(path)
    return _compose(p, _parse_yaml(p), (p,))


def load_config(path: str | os.PathLike, cls: type[T]) -> T:
    """Read a YAML file (includes composed) into the dataclass `cls`, strictly."""
    data = read_yaml(path)
    return from_dict(cls, {} if data is None else data, source=str(path))


def merge_config(base: Mapping, override: Mapping) -> dict:
    """`override` laid over `base`: mappings merge key by key (recursively), any other value replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = value
    return out


def _compose(path: Path, data: Any, chain: tuple[Path, ...]) -> Any:
    """`data` (parsed from `path`) over the files its `include:` names, in order; `chain` is the files that
    led here (`path` last), so that a cycle is named instead of recursing forever."""
    if not isinstance(data, Mapping) or INCLUDE_KEY not in data:
        return data
    composed: dict = {}
    for inc in _include_paths(path, data[INCLUDE_KEY]):
        composed = merge_config(composed, _read_included(inc, path, chain))
    return merge_config(composed, {k: v for k, v in data.items() if k != INCLUDE_KEY})


def _include_paths(path: Path, value: Any) -> list[Path]:
    """The files `include: value` in `path` names, relative to `path`'s folder (absolute ones as given)."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{_shown(path)}: '{INCLUDE_KEY}' must be a path or a list of paths, got {value!r}")
    return [path.parent / n for n in names]


def _read_included(inc: Path, including: Path, chain: tuple[Path, ...]) -> dict:
    """The composed mapping of the included file `inc`; a missing file, a cycle or a non-mapping is an error."""
    if not inc.is_file():
        raise ConfigError(f"{_shown(including)}: included file not found: {_shown(inc)}")
    if any(inc.resolve() == p.resolve() for p in chain):
        raise ConfigError(f"{_shown(including)}: include cycle: {' -> '.join(_shown(p) for p in (*chain, inc))}")
    data = _compose(inc, _parse_yaml(inc), (*chain, inc))
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        raise ConfigError(f"{_shown(including)}: included file {_shown(inc)} must hold a mapping, got {kind}")
    return dict(data)


def _shown(p: Path) -> str:
    """`p` for a message, with `dir/../` collapsed (include paths pile them up)."""
    return os.path.normpath(p)


def _parse_yaml(p: Path) -> Any:
    """Parse one YAML file as it stands, naming the file on any error."""
    if not p.is_file():
        raise ConfigError(f"config file not found: {_shown(p)}")
    try:
        return yaml.safe_load(p.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{_shown(p)}: invalid YAML ({' '.join(str(e).split())})") from None


def from_dict(cls: type[T], data: Any, source: str = "<dict>", prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping; unknown, missing or mistyped keys raise ConfigError."""
    where = prefix.rstrip(".") or "top level"
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{source}: unknown key '{prefix}{key}' (known keys: {', '.join(sorted(fields))})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key '{prefix}{name}'")
            continue
        kwargs[name] = _convert(hints[name], data[name], source, f"{prefix}{name}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{source}: {where}: {e}") from None


def to_dict(obj: Any) -> dict:
    """Turn a config dataclass back into plain dicts and lists (for YAML)."""
    return dataclasses.asdict(obj)


def save_config(path: str | os.PathLike, obj: Any) -> None:
    """Write a config (dataclass or mapping) as YAML, atomically."""
    data = to_dict(obj) if dataclasses.is_dataclass(obj) else dict(obj)
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False))


def _convert(tp: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, source, key)
            except ConfigError:
                pass
        raise _type_error(source, key, tp, value)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: key '{key}' must be one of {list(args)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, prefix=f"{key}.")
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _type_error(source, key, tp, value)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise ConfigError(f"{source}: key '{key}' needs {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, source, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_convert(item, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or tp) is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _type_error(source, key, tp, value)
        vt = args[1] if args else Any
        return {k: _convert(vt, v, source, f"{key}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # YAML's .nan / .inf: never a usable setting
                raise ConfigError(f"{source}: key '{key}' must be a finite number, got {value!r}")
            return float(value)
        raise _type_error(source, key, tp, value)
    if tp is int or tp is str or tp is bool:
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return value
        raise _type_error(source, key, tp, value)
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _type_error(source, key, tp, value)
    return value


def _type_error(source: str, key: str, tp: Any, value: Any) -> ConfigError:
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    return ConfigError(f"{source}: key '{key}' should be {name}, got {value!r} ({type(value).__name__})")
