"""Errors about codes and token files: each names the level, the position or the file."""

from codeckit.errors import CodeckitError


class TokenError(CodeckitError, ValueError):
    """Codes or a token file that do not fit a layout or a codec (names level, position or path)."""
