"""What a checkpoint holds, registered once (audiocraft's `register_stateful`): each part of a run names its
key when it is built, and saving and resuming follow that list instead of listing keys by hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from codeckit.train.checkpoint import CheckpointError


class Stateful(Protocol):
    """A module, optimizer, LR schedule, EMA or balancer: anything with `state_dict` / `load_state_dict`."""

    def state_dict(self) -> Any:
        """The state to save (tensors, numbers, strings, nested in dicts and lists)."""
        ...

    def load_state_dict(self, state: Any) -> Any:
        """Restore what `state_dict` gave."""
        ...


class StateRegistry:
    """Checkpoint key -> how to save and restore it, in registration order (the order of the saved keys)."""

    def __init__(self) -> None:
        self._save: dict[str, Callable[[], Any]] = {}
        self._load: dict[str, Callable[[Any, str], None]] = {}

    def value(self, name: str, save: Callable[[], Any], load: Callable[[Any], None] | None = None) -> None:
        """Register a plain value: `save()` gives it, `load(saved)` restores it (None: saved for reading only)."""
        if name in self._save:
            raise ValueError(f"checkpoint key '{name}' is registered twice")
        self._save[name] = save
        if load is not None:
            self._load[name] = lambda saved, source: load(saved)

    def attribute(self, owner: object, name: str) -> None:
        """Register the attribute `name` of `owner` (a counter) under its own name."""
        self.value(name, lambda: getattr(owner, name), lambda saved: setattr(owner, name, saved))

    def part(self, name: str, part: Stateful | None, missing: str | None = None) -> None:
        """Register `part` (None when this run has none: saved as None, never restored). A checkpoint that holds
        None for it is an error saying `missing` when given; otherwise `part` keeps its fresh state."""
        self.value(name, lambda: None if part is None else part.state_dict())
        if part is not None:
            self._load[name] = lambda saved, source: _load_part(part, saved, source, missing)

    def extend(self, other: StateRegistry) -> None:
        """Register every key of `other` (a component's own parts), in its order."""
        for name, save in other._save.items():
            self.value(name, save)
            if name in other._load:
                self._load[name] = other._load[name]

    def state(self) -> dict[str, Any]:
        """Every registered key's current state."""
        return {name: save() for name, save in self._save.items()}

    def load(self, state: dict[str, Any], source: str) -> None:
        """Restore every registered key from `state`, read from `source` (a KeyError names a missing key)."""
        for name, load in self._load.items():
            load(state[name], source)


def _load_part(part: Stateful, saved: Any, source: str, missing: str | None) -> None:
    if saved is not None:
        part.load_state_dict(saved)
    elif missing is not None:
        raise CheckpointError(f"{source} {missing}")
