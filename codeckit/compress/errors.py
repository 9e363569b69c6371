"""Errors about compressed files and context models: each names the file, and the chunk where one is at fault."""

from codeckit.errors import CodeckitError


class CompressError(CodeckitError, ValueError):
    """A compressed file or context model that cannot be read, written or used (names file, chunk or level)."""
