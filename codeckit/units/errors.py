"""The error the units tools raise: a k-means file, a feature shard or a wav list they cannot use."""

from codeckit.errors import CodeckitError


class UnitsError(CodeckitError, ValueError):
    """A k-means file, feature shard or list that cannot be read or fit (names the path and the problem)."""
