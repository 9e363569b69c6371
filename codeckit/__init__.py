"""codeckit: train, run, stream, export and score neural audio codecs."""

from codeckit.errors import AudioError, CodeckitError, ConfigError, ModelDirError

__version__ = "0.1.0"

__all__ = ["AudioError", "CodeckitError", "ConfigError", "ModelDirError", "__version__"]
