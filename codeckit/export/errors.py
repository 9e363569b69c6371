"""The export's and the runner's error (torch-free, so the runner can raise it)."""

from codeckit.errors import CodeckitError


class ExportError(CodeckitError, ValueError):
    """An export that cannot be made or checked, an exported directory that cannot be run, or bad runner input."""
