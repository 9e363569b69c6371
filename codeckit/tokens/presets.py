"""Layout presets by name: `layout("orpheus").encode(codes) -> ids` and `.decode(ids) -> codes`.

| name      | codec (levels x codes)   | ids per step | reproduces (repository, file)                              |
|-----------|--------------------------|--------------|------------------------------------------------------------|
| orpheus   | SNAC 24 kHz (3 x 4096)   | 1, 7/frame   | canopyai/Orpheus-TTS orpheus_tts_pypi/orpheus_tts/decoder.py |
| mini-omni | SNAC 24 kHz (3 x 4096)   | 7 streams    | gpt-omni/mini-omni utils/snac_utils.py                      |
| moshi     | Mimi (8 x 2048)          | 8 streams    | kyutai-labs/moshi moshi/moshi/models/lm_utils.py            |
| llasa     | X-Codec2 (1 x 65536)     | 1            | zhenye234/LLaSA_training train_tts.py                       |

Unit presets by name: `unit_preset("speechgpt").encode(units) -> str` and `.decode(str) -> units`.

| name      | units (extractor, layer, count, rate)   | reproduces (repository, file)                                  |
|-----------|-----------------------------------------|----------------------------------------------------------------|
| speechgpt | mHuBERT L11, 1000, 50 Hz, de-duplicated | 0nutation/SpeechGPT speechgpt/utils/speech2unit/speech2unit.py |
| usdm      | XLS-R 1B (SeamlessM4T) L35, 10k, 50 Hz  | naver-ai/usdm src/inference_vllm.py                            |
"""

from __future__ import annotations

from collections.abc import Callable

from codeckit.tokens.errors import TokenError
from codeckit.tokens.llasa import llasa
from codeckit.tokens.lm import LMLayout
from codeckit.tokens.miniomni import mini_omni
from codeckit.tokens.moshi import moshi
from codeckit.tokens.orpheus import orpheus
from codeckit.tokens.speechgpt import speechgpt
from codeckit.tokens.unitstrings import UnitStrings
from codeckit.tokens.usdm import usdm

PRESETS: dict[str, Callable[..., LMLayout]] = {
    "orpheus": orpheus,
    "mini-omni": mini_omni,
    "moshi": moshi,
    "llasa": llasa,
}


def layout_names() -> list[str]:
    """Every preset name, sorted."""
    return sorted(PRESETS)


def layout(name: str, **options: object) -> LMLayout:
    """The preset `name` (case, `_` and `-` ignored: "Mini_Omni" is "mini-omni"), built with `options`."""
    key = name.lower().replace("_", "-")
    key = {"miniomni": "mini-omni", "xcodec2": "llasa"}.get(key, key)
    if key not in PRESETS:
        raise TokenError(f"unknown LM layout '{name}' (known: {', '.join(layout_names())})")
    try:
        return PRESETS[key](**options)
    except TypeError as e:
        raise TokenError(f"LM layout '{key}': {e}") from None


UNIT_PRESETS: dict[str, Callable[[], UnitStrings]] = {"speechgpt": speechgpt, "usdm": usdm}


def unit_preset(name: str) -> UnitStrings:
    """The unit-string preset `name` (case ignored): how that LM writes its units."""
    key = name.lower()
    if key not in UNIT_PRESETS:
        raise TokenError(f"unknown unit preset '{name}' (known: {', '.join(sorted(UNIT_PRESETS))})")
    return UNIT_PRESETS[key]()
