"""ViSQOL v3 through the pure-Python `visqol-python` package (import name `visqol`).

Speech mode runs at 16 kHz, audio mode at 48 kHz; inputs are resampled with soxr first. Speech mode maps
similarity to MOS with ViSQOL v3's lattice model, its default and what published ViSQOL-speech figures use
(the package's `[lattice]` extra, installed with codeckit's metrics); the older polynomial map is a separate
metric, `visqol_speech_polynomial`, whose scores are not comparable. Each is asked for explicitly, so the
choice never depends on what happens to be installed.
"""

from __future__ import annotations

from functools import lru_cache

from codeckit.metrics.base import MetricError, as_mono, at_rate, same_length

SPEECH_RATE = 16000
AUDIO_RATE = 48000


@lru_cache(maxsize=3)
def _api(mode: str, lattice: bool = False):
    from visqol import VisqolApi

    api = VisqolApi()
    if mode == "speech":
        try:
            api.create(mode="speech", use_lattice_model=lattice)
        except ImportError as e:
            msg = f"ViSQOL speech lattice model unavailable ({e}); pip install 'visqol-python[lattice]'"
            raise MetricError(msg) from None
    else:
        api.create(mode="audio")
    return api


def _visqol(reference, degraded, sample_rate: int, mode: str, rate: int, lattice: bool = False) -> float:
    ref = at_rate(as_mono(reference, "reference"), sample_rate, rate)
    deg = at_rate(as_mono(degraded, "degraded"), sample_rate, rate)
    ref, deg = same_length(ref, deg)
    api = _api(mode, lattice)
    try:
        return float(api.measure_from_arrays(ref, deg, rate).moslqo)
    except Exception as e:
        raise MetricError(f"ViSQOL {mode} mode failed at {rate} Hz: {type(e).__name__}: {e}") from None


def visqol_speech(reference, degraded, sample_rate: int) -> float:
    """ViSQOL speech-mode MOS-LQO (1..5) with the lattice MOS model (ViSQOL v3's default), at 16 kHz."""
    return _visqol(reference, degraded, sample_rate, "speech", SPEECH_RATE, lattice=True)


def visqol_speech_polynomial(reference, degraded, sample_rate: int) -> float:
    """ViSQOL speech-mode MOS-LQO with the polynomial MOS map (not comparable with `visqol_speech`), at 16 kHz."""
    return _visqol(reference, degraded, sample_rate, "speech", SPEECH_RATE, lattice=False)


def visqol_audio(reference, degraded, sample_rate: int) -> float:
    """ViSQOL audio-mode MOS-LQO (1..about 4.73), computed at 48 kHz."""
    return _visqol(reference, degraded, sample_rate, "audio", AUDIO_RATE)
