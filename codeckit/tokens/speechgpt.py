"""SpeechGPT (0nutation/SpeechGPT): mHuBERT layer 11, 1000 k-means units at 50 Hz, de-duplicated, as
`<sosp><u1><u2>...<eosp>`.

Reproduces `speechgpt/utils/speech2unit/speech2unit.py` (`Speech2Unit.__call__` with `merged=True`: the
fairseq checkpoint `mhubert_base_vp_en_es_fr_it3.pt` read at `output_layer=11`, k-means
`mhubert_base_vp_en_es_fr_it3_L11_km1000.bin`, `merge_duplicates`, then `"<sosp>" + "".join(f"<{x}>") + "<eosp>"`)
and its inverse in `speechgpt/src/infer/cli_infer.py` (`re.findall(r'<(\\d+)>', answer)` before the unit vocoder,
which predicts the durations). The waveform is not normalised (`task.cfg.normalize` is False for mHuBERT base).
"""

from __future__ import annotations

from codeckit.tokens.unitstrings import UnitSetup, UnitStrings

SETUP = UnitSetup(
    checkpoint="mhubert_base_vp_en_es_fr_it3.pt",
    model_type="hubert",
    layer=11,
    n_units=1000,
    kmeans="mhubert_base_vp_en_es_fr_it3_L11_km1000.bin",
    frame_rate=50.0,
    dedup=True,
    normalize=False,
)


def speechgpt() -> UnitStrings:
    """SpeechGPT's unit strings: `<sosp>`, one `<N>` per de-duplicated unit, `<eosp>`."""
    return UnitStrings("speechgpt", SETUP, "<{}>", prefix="<sosp>", suffix="<eosp>")
