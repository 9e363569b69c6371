"""USDM (naver-ai/usdm): SeamlessM4T's XLS-R 1B unit extractor, output layer 35, 10,000 units at 50 Hz, not
de-duplicated, as `<|unit{N}|>` tokens with no markers around them.

Reproduces `src/inference_vllm.py` (`sample`: `''.join([f'<|unit{i}|>' for i in unit_extractor.predict(wav, 35 - 1)])`
with `UnitExtractor("xlsr2_1b_v2", ".../kmeans_10k.npy")`, and the inverse `re.compile(r"<\\|unit(\\d+)\\|>")`
before the decoder). seamless_communication's `UnitExtractor.predict` layer-normalises the whole waveform and
stops after the 0-based layer 34, i.e. transformers' `hidden_states[35]`.
"""

from __future__ import annotations

from codeckit.tokens.unitstrings import UnitSetup, UnitStrings

SETUP = UnitSetup(
    checkpoint="xlsr2_1b_v2",
    model_type="wav2vec2",
    layer=35,
    n_units=10000,
    kmeans="kmeans_10k.npy",
    frame_rate=50.0,
    dedup=False,
    normalize=True,
)


def usdm() -> UnitStrings:
    """USDM's unit strings: one `<|unitN|>` per frame-rate unit."""
    return UnitStrings("usdm", SETUP, "<|unit{}|>")
