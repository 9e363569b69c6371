"""Orpheus TTS (canopyai/Orpheus-TTS): SNAC 24 kHz codes as one Llama-3 id per step, 7 per coarse frame.

Reproduces `orpheus_tts_pypi/orpheus_tts/decoder.py` (`turn_token_into_id`, `convert_to_audio`): a frame is
the depth-first walk l0, l1, l2, l2, l1, l2, l2, and the code in slot j (0..6) is the added token
`<custom_token_{10 + 4096 j + code}>`. `pretrain/train.py` adds `<custom_token_0..7*4096+10>` after the
128256 Llama-3 ids, so slot j's ids are 128266 + 4096 j + code. The first ten custom tokens are markers
(`engine_class.py` uses 128257 start of speech, 128258 end of speech, 128259..128261 for the prompt and
`config.yaml` pads with 128263).
"""

from __future__ import annotations

from codeckit.tokens.lm import FlatLayout
from codeckit.tokens.vocab import AudioVocab

LLAMA3_VOCAB = 128256
MARKERS = (
    "custom_token_0",
    "start_of_speech",
    "end_of_speech",
    "start_of_human",
    "end_of_human",
    "start_of_ai",
    "end_of_ai",
    "pad",
    "custom_token_8",
    "custom_token_9",
)


def orpheus(text_vocab_size: int = LLAMA3_VOCAB, codebook_size: int = 4096) -> FlatLayout:
    """The Orpheus layout: 7 slots per SNAC frame (ratios 1, 2, 4), slot j at `text_vocab_size + 10 + 4096 j`."""
    vocab = AudioVocab((codebook_size,) * 7, text_vocab_size, MARKERS)
    return FlatLayout("orpheus", (1, 2, 4), vocab, range(7), "depth", vocab.special_ids.values())
