"""codeckit: train, run, stream, export and score neural audio codecs."""

from codeckit.errors import AudioError, CodeckitError, ConfigError, HubError, ModelDirError

__version__ = "0.1.0"

__all__ = ["AudioError", "CodeckitError", "ConfigError", "HubError", "ModelDirError", "__version__", "load"]


def __getattr__(name: str):
    """`codeckit.load` is imported on first use, so `import codeckit` stays light."""
    if name == "load":
        from codeckit.api import load

        return load
    raise AttributeError(f"module 'codeckit' has no attribute {name!r}")
