"""The error corpus-scale tokenization raises on purpose."""

from codeckit.errors import CodeckitError


class ShardError(CodeckitError, ValueError):
    """A shard plan, index or output folder that does not fit (names the folder, shard or file)."""
