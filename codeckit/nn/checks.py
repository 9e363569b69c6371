"""Option checks of the layers' constructors: a bad value raises `ConfigError` naming the option.

A config's bad value then ends `codeckit train` (or `build_codec`) with one line naming the key, as the
quantizers' checks do, instead of a traceback from deep inside torch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from codeckit.errors import ConfigError


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_positive(where: str, **values: int) -> None:
    """Raise ConfigError naming the first key whose value is not an int >= 1."""
    for key, value in values.items():
        if not _is_int(value) or value < 1:
            raise ConfigError(f"{where}: {key} must be an integer >= 1, got {value!r}")


def check_non_negative(where: str, **values: int) -> None:
    """Raise ConfigError naming the first key whose value is not an int >= 0."""
    for key, value in values.items():
        if not _is_int(value) or value < 0:
            raise ConfigError(f"{where}: {key} must be an integer >= 0, got {value!r}")


def check_positive_list(where: str, key: str, values: Iterable[int]) -> None:
    """Raise ConfigError naming `key[i]` for the first item of `values` that is not an int >= 1."""
    check_positive(where, **{f"{key}[{i}]": v for i, v in enumerate(values)})


def check_bool(where: str, **values: bool) -> None:
    """Raise ConfigError naming the first key whose value is not a bool."""
    for key, value in values.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")


def check_choice(where: str, key: str, value: Any, choices: Collection[Any]) -> None:
    """Raise ConfigError naming `key` when `value` is not one of `choices`."""
    if value not in choices:
        raise ConfigError(f"{where}: {key} must be one of {tuple(choices)}, got {value!r}")
