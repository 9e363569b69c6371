"""Blocks: streamable convs, Snake, NoiseBlock, attention, SEANet/SNAC/DAC/FreqCodec/Mimi stacks, transformer,
ConvNeXt + ISTFT (Vocos).

Importing this package registers its encoders and decoders.
"""

import codeckit.features  # noqa: F401,E402  (registers the feature encoders "mfcc", "logmel", "ssl")
import codeckit.nn.dac  # noqa: F401,E402  (registers encoder/decoder "dac")
import codeckit.nn.freqcodec  # noqa: F401,E402  (registers encoder/decoder "freqcodec")
import codeckit.nn.mimi  # noqa: F401,E402  (registers encoder/decoder "mimi")
import codeckit.nn.snac  # noqa: F401,E402  (registers encoder/decoder "snac")
import codeckit.nn.unit_vocoder  # noqa: F401,E402  (registers decoder "unit_hifigan")
import codeckit.nn.vocos  # noqa: F401,E402  (registers encoder/decoder "vocos")
from codeckit.nn import seanet  # noqa: F401,E402  (registers encoder/decoder "seanet")
