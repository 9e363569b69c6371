"""The codec zoo: whole models (encoder + quantizer + decoder) and their registry."""

from codeckit.codecs.base import Codec, CodecConfig, CodecOutput, build_codec
from codeckit.codecs.storage import load_codec, save_codec

__all__ = ["Codec", "CodecConfig", "CodecOutput", "build_codec", "load_codec", "save_codec"]
