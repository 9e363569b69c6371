"""The error raised by corpus generation, download and list preparation."""

from codeckit.errors import CodeckitError


class CorpusError(CodeckitError, ValueError):
    """A corpus that cannot be made, fetched or listed (names the path, voice or tool)."""
