"""Llasa (zhenye234/LLaSA_training): one X-Codec2 code per Llama-3 id, after the text ids and 8 markers.

Reproduces `train_tts.py` (the tokenizer adds 8 `<|..._START|>` / `<|..._END|>` markers, then
`<|s_0|>..<|s_65535|>`), `finetune/online_finetune/finetune_online.py` (`base_num = 128256 + 8`,
`tokens + base_num`) and `lora_infer_example.py` (`ids_to_speech_tokens`, `extract_speech_ids`).
Any single-codebook codec fits by giving its codebook size.
"""

from __future__ import annotations

from codeckit.tokens.lm import FlatLayout
from codeckit.tokens.vocab import AudioVocab

LLAMA3_VOCAB = 128256
MARKERS = (
    "TEXT_GENERATION_START",
    "TEXT_GENERATION_END",
    "TEXT_UNDERSTANDING_START",
    "TEXT_UNDERSTANDING_END",
    "SPEECH_GENERATION_START",
    "SPEECH_GENERATION_END",
    "SPEECH_UNDERSTANDING_START",
    "SPEECH_UNDERSTANDING_END",
)


def llasa(text_vocab_size: int = LLAMA3_VOCAB, codebook_size: int = 65536) -> FlatLayout:
    """The Llasa layout: code c is id `text_vocab_size + 8 + c` (`<|s_c|>`); the 8 markers are control ids."""
    vocab = AudioVocab((codebook_size,), text_vocab_size, MARKERS)
    return FlatLayout("llasa", (1,), vocab, (0,), "depth", vocab.special_ids.values())
