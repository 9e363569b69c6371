"""Blocks: streamable convs, Snake, NoiseBlock, attention, SEANet/SNAC/DAC/FreqCodec stacks.

Importing this package registers its encoders and decoders.
"""

from codeckit.nn import seanet  # noqa: F401,E402  (registers encoder/decoder "seanet")
