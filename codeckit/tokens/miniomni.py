"""Mini-Omni (gpt-omni/mini-omni): SNAC 24 kHz as 7 parallel LM streams, stream j one step later than j-1.

Reproduces `utils/snac_utils.py`: `get_snac` / `reconscruct_snac` read frame f's slot j from stream j at
step f + j + 1, and `reconstruct_tensors` sends the 7 slots to levels 0, 1, 2, 2, 1, 2, 2 (depth first).
The LM reads stream j's value v as `layershift(v, j) = v + 152000 + 4160 j` (`inference.py`: 151936 text
ids + 64 specials; 4096 codes + 64 audio specials per stream, `_eoa` = 4096, `_pad_a` = 4097, ...).
Steps before a stream's first code and after its last hold `_pad_a`. With `layershift=False` ids are
the per-stream values the LM samples (0..4159) rather than its input ids.
"""

from __future__ import annotations

from codeckit.tokens.lm import DelayedLayout
from codeckit.tokens.vocab import AudioVocab

TEXT_VOCAB = 151936 + 64
AUDIO_VOCAB = 4096 + 64
EOA, PAD_A, INPUT_A, ANSWER_A, SPLIT = 4096, 4097, 4098, 4099, 4100


def mini_omni(layershift: bool = True, text_vocab_size: int = TEXT_VOCAB) -> DelayedLayout:
    """The Mini-Omni layout: 7 streams, delays 1..7, pad `_pad_a`, stream j at `text_vocab_size + 4160 j`."""
    offsets = AudioVocab((AUDIO_VOCAB,) * 7, text_vocab_size).offsets if layershift else [0] * 7
    return DelayedLayout("mini-omni", (1, 2, 4), (4096,) * 3, range(1, 8), PAD_A, offsets, "depth")
