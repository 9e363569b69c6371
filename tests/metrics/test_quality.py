"""Each quality metric on known cases: identical signals, a delayed copy, white noise, graded noise, failures."""

from __future__ import annotations

import numpy as np
import pytest

from codeckit.metrics.align import align, estimate_delay
from codeckit.metrics.base import MetricError, as_mono
from codeckit.metrics.pesq import pesq_nb, pesq_wb
from codeckit.metrics.sisdr import si_sdr
from codeckit.metrics.spectral import mel_distance, mrstft_distance
from codeckit.metrics.stoi import estoi, stoi
from codeckit.metrics.suite import METRICS, score

SR = 16000
FAST = ["pesq_wb", "pesq_nb", "stoi", "estoi", "mel_distance", "mrstft_distance", "si_sdr"]
BEST = {"pesq_wb": 4.64, "pesq_nb": 4.55, "stoi": 1.0, "estoi": 1.0, "mel_distance": 0.0, "mrstft_distance": 0.0}


def _noise(n: int, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n) * scale


def _at_snr(x: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    n = _noise(len(x), seed, 1.0)
    return x + n * np.sqrt((x**2).mean() / (n**2).mean() / 10 ** (snr_db / 10))


def test_identical_signals_give_best_values(speech):
    s = score(speech, speech, SR, FAST)
    assert s.errors == {} and s.delay == 0
    for name, best in BEST.items():
        assert s.values[name] == pytest.approx(best, abs=0.01), name
    assert s.values["si_sdr"] > 100


def test_delayed_copy_is_aligned_and_delay_reported(speech):
    delay = 160  # 10 ms
    late = np.concatenate([np.zeros(delay), speech])
    s = score(speech, late, SR, FAST)
    assert s.delay == delay and s.delay_ms == pytest.approx(10.0)
    for name, best in BEST.items():
        assert s.values[name] == pytest.approx(best, abs=0.01), name
    early = speech[37:]
    assert estimate_delay(speech, early, SR) == -37
    ref, deg, d = align(speech, early, SR)
    assert d == -37 and len(ref) == len(deg) and np.array_equal(ref, deg)


def test_white_noise_scores_low(speech):
    s = score(speech, _noise(len(speech)), SR, FAST)
    assert s.errors == {}
    v = s.values
    assert v["pesq_wb"] < 1.6 and v["pesq_nb"] < 1.6
    assert v["stoi"] < 0.5 and v["estoi"] < 0.2
    assert v["si_sdr"] < -10
    assert v["mel_distance"] > 0.5 and v["mrstft_distance"] > 2


@pytest.mark.parametrize("name", FAST)
def test_more_noise_scores_worse(speech, name):
    fn, better = METRICS[name].fn, METRICS[name].higher_is_better
    light, heavy = fn(speech, _at_snr(speech, 30), SR), fn(speech, _at_snr(speech, 5), SR)
    assert (light > heavy) if better else (light < heavy)


def test_si_sdr_is_scale_invariant(speech):
    assert si_sdr(speech, 0.3 * speech) > 100
    assert si_sdr(speech, _at_snr(speech, 10)) == pytest.approx(10, abs=0.5)


def test_failures_raise_with_reason_never_a_default(speech):
    short = speech[:400]  # 25 ms: too short for PESQ, STOI and the spectral distances
    for fn in (pesq_wb, pesq_nb, stoi, estoi, mel_distance, mrstft_distance):
        with pytest.raises(MetricError):
            fn(short, short, SR)
    with pytest.raises(MetricError, match="silent"):
        si_sdr(np.zeros(1000), np.ones(1000))
    with pytest.raises(MetricError, match="all zeros"):
        score(speech, np.zeros_like(speech), SR, ["si_sdr"])
    s = score(short, short, SR, ["pesq_wb", "si_sdr"])
    assert "pesq_wb" in s.errors and "pesq_wb" not in s.values and s.values["si_sdr"] > 100


def test_inputs_are_checked():
    with pytest.raises(MetricError, match="mono"):
        as_mono(np.zeros((2, 100)))
    with pytest.raises(MetricError, match="NaN"):
        as_mono(np.array([0.0, np.nan]))
    with pytest.raises(MetricError, match="unknown metric"):
        score(np.ones(10), np.ones(10), SR, ["mos"])
