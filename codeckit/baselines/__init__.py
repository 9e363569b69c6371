"""Classic-codec baselines for the leaderboard: identity, Opus (opusenc/opusdec), Codec2 (c2enc/c2dec)."""

from codeckit.baselines.base import BaselineCodec
from codeckit.baselines.codec2 import Codec2Codec
from codeckit.baselines.identity import IdentityCodec
from codeckit.baselines.opus import OpusCodec
from codeckit.baselines.tools import BaselineError

__all__ = ["BaselineCodec", "BaselineError", "Codec2Codec", "IdentityCodec", "OpusCodec"]
