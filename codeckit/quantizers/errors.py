"""The error quantizers raise for latents or codes of the wrong shape, dtype or range."""

from codeckit.errors import CodeckitError


class QuantizerError(CodeckitError, ValueError):
    """Latents or codes a quantizer cannot take (names the shape, level or value range)."""
