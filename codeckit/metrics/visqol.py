"""ViSQOL v3 through the pure-Python `visqol-python` package (import name `visqol`).

Speech mode runs at 16 kHz, audio mode at 48 kHz; inputs are resampled with soxr first. Speech mode
uses the package's polynomial similarity-to-MOS mapping (its lattice model needs `ai-edge-litert`,
which codeckit does not install), asked for explicitly so the choice does not depend on what is installed.
"""

from __future__ import annotations

from functools import lru_cache

from codeckit.metrics.base import MetricError, as_mono, at_rate, same_length

SPEECH_RATE = 16000
AUDIO_RATE = 48000


@lru_cache(maxsize=2)
def _api(mode: str):
    from visqol import VisqolApi

    api = VisqolApi()
    if mode == "speech":
        api.create(mode="speech", use_lattice_model=False)
    else:
        api.create(mode="audio")
    return api


def _visqol(reference, degraded, sample_rate: int, mode: str, rate: int) -> float:
    ref = at_rate(as_mono(reference, "reference"), sample_rate, rate)
    deg = at_rate(as_mono(degraded, "degraded"), sample_rate, rate)
    ref, deg = same_length(ref, deg)
    try:
        return float(_api(mode).measure_from_arrays(ref, deg, rate).moslqo)
    except Exception as e:
        raise MetricError(f"ViSQOL {mode} mode failed at {rate} Hz: {type(e).__name__}: {e}") from None


def visqol_speech(reference, degraded, sample_rate: int) -> float:
    """ViSQOL speech-mode MOS-LQO (1..5), computed at 16 kHz."""
    return _visqol(reference, degraded, sample_rate, "speech", SPEECH_RATE)


def visqol_audio(reference, degraded, sample_rate: int) -> float:
    """ViSQOL audio-mode MOS-LQO (1..about 4.73), computed at 48 kHz."""
    return _visqol(reference, degraded, sample_rate, "audio", AUDIO_RATE)
