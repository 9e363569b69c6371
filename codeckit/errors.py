"""Exceptions raised at codeckit's edges: one clear sentence naming the path, key or shape."""


class CodeckitError(Exception):
    """Base class of every error codeckit raises on purpose."""


class AudioError(CodeckitError, ValueError):
    """Audio that cannot be read, written or converted (names the path or the array's problem)."""


class ConfigError(CodeckitError, ValueError):
    """A config that does not fit its schema (names the key and the file)."""


class ModelDirError(CodeckitError, ValueError):
    """A model directory with missing, unreadable or mismatched files (names the file or tensor)."""


class HubError(CodeckitError, OSError):
    """A hub model (`hf:ORG/NAME[@REV]`) that cannot be resolved or downloaded: names the repository, the
    revision, the endpoint tried and the cause. `not_found` is True when the hub answered 404."""

    not_found: bool = False
