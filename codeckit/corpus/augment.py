"""Recording-like augmentation for the synthetic corpus: room reverb, microphone/channel EQ, background noise, level.

TTS voices are dry, noiseless, flat and all peak-normalised to one level; real recordings are not.
An augmented utterance goes through, in the order a recording chain would:

1. room reverb (probability 0.5): convolution with a synthetic room impulse response, a direct path
   plus exponentially decaying noise with RT60 0.15-0.6 s, direct-to-reverberant ratio 3-15 dB;
2. microphone / channel EQ (probability 0.8): a random chain of gentle biquads: 2nd-order high-pass
   at 40-150 Hz, one or two peaking filters (150 Hz-6 kHz, +-6 dB), low and high shelves (+-4 / +-6 dB);
3. background noise (probability 0.6): coloured noise (power slope 0 white to 2 brown, per octave
   -3 dB times the slope) at 30-50 dB SNR over the utterance's mean power;
4. level (always): the peak set to -20..-1 dBFS instead of the clean utterances' -3 dBFS.

Each utterance draws its settings from an RNG seeded by (corpus seed, utterance id), so a corpus is
reproducible and a cached wav does not depend on which other utterances were made. An utterance is
augmented with probability p (`codeckit corpus synth --augment p`); the rest stay clean. The effects run
at AUGMENT_RATE (48 kHz), so noise fills the whole band of every rate the corpus is written at.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from codeckit.corpus.errors import CorpusError

AUGMENT_RATE = 48000
REVERB_PROB, EQ_PROB, NOISE_PROB = 0.5, 0.8, 0.6
RT60_RANGE = (0.15, 0.6)  # seconds
DRR_RANGE = (3.0, 15.0)  # dB, direct to reverberant energy
SNR_RANGE = (30.0, 50.0)  # dB
NOISE_SLOPE_RANGE = (0.0, 2.0)  # noise power ~ 1 / f**slope
PEAK_RANGE = (-20.0, -1.0)  # dBFS


@dataclass(frozen=True)
class Biquad:
    """One EQ section: 'highpass' (2nd-order Butterworth), 'peak', 'lowshelf' or 'highshelf' (RBJ cookbook)."""

    kind: str
    freq: float
    gain_db: float = 0.0
    q: float = 0.7071

    def __str__(self) -> str:
        if self.kind == "highpass":
            return f"hp{self.freq:.0f}"
        return f"{self.kind}{self.freq:.0f}:{self.gain_db:+.1f}dB" + (f":q{self.q:.2f}" if self.kind == "peak" else "")


@dataclass(frozen=True)
class Recording:
    """The settings one augmented utterance drew; None (or no EQ sections) is an effect not applied."""

    rt60: float | None
    drr_db: float | None
    eq: tuple[Biquad, ...]
    snr_db: float | None
    noise_slope: float | None
    peak_dbfs: float

    def describe(self) -> str:
        """One line for augment.tsv: each applied effect with its settings."""
        parts = []
        if self.rt60 is not None:
            parts.append(f"reverb rt60={self.rt60:.2f}s drr={self.drr_db:.1f}dB")
        if self.eq:
            parts.append("eq " + ",".join(str(b) for b in self.eq))
        if self.snr_db is not None:
            parts.append(f"noise snr={self.snr_db:.1f}dB slope={self.noise_slope:.2f}")
        parts.append(f"peak={self.peak_dbfs:.1f}dBFS")
        return "; ".join(parts)


def check_probability(p: float) -> float:
    """`p` as a float if it is a probability; CorpusError otherwise."""
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise CorpusError(f"the augmentation probability must be a number in [0, 1], got {p!r}") from None
    if not 0.0 <= value <= 1.0:
        raise CorpusError(f"the augmentation probability must be in [0, 1], got {value}")
    return value


def _rng(seed: int, utt: str, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(utt.encode()), stream])


def draw(utt: str, seed: int, p: float) -> Recording | None:
    """The settings of utterance `utt` in a corpus with `seed`, or None when it stays clean (probability 1 - p).

    Every setting is drawn whether or not its effect applies, in a fixed order, so the settings of an
    augmented utterance are the same for every p that augments it.
    """
    p = check_probability(p)
    rng = _rng(seed, utt, 0)
    if rng.random() >= p:
        return None
    reverb, eq_on, noise = rng.random(3) < (REVERB_PROB, EQ_PROB, NOISE_PROB)
    rt60, drr = rng.uniform(*RT60_RANGE), rng.uniform(*DRR_RANGE)
    hp_on, two_peaks, low_on, high_on = rng.random(4) < 0.5
    hp = _log_uniform(rng, 40, 150)
    peak_f, peak_g, peak_q = _log_uniform(rng, 150, 6000, 2), rng.uniform(-6, 6, 2), _log_uniform(rng, 0.5, 2, 2)
    low_f, low_g = _log_uniform(rng, 100, 400), rng.uniform(-4, 4)
    high_f, high_g = _log_uniform(rng, 2000, 8000), rng.uniform(-6, 6)
    snr, slope, level = rng.uniform(*SNR_RANGE), rng.uniform(*NOISE_SLOPE_RANGE), rng.uniform(*PEAK_RANGE)
    eq: list[Biquad] = []
    if eq_on:
        eq += [Biquad("highpass", float(hp))] if hp_on else []
        eq += [Biquad("peak", float(peak_f[k]), float(peak_g[k]), float(peak_q[k])) for k in range(1 + int(two_peaks))]
        eq += [Biquad("lowshelf", float(low_f), float(low_g))] if low_on else []
        eq += [Biquad("highshelf", float(high_f), float(high_g))] if high_on else []
    return Recording(
        rt60=float(rt60) if reverb else None,
        drr_db=float(drr) if reverb else None,
        eq=tuple(eq),
        snr_db=float(snr) if noise else None,
        noise_slope=float(slope) if noise else None,
        peak_dbfs=float(level),
    )


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None):
    return lo * (hi / lo) ** rng.random(size)


def _scipy():
    """scipy with its fft and signal modules loaded; CorpusError says how to install it."""
    try:
        import scipy.fft
        import scipy.signal
    except ImportError:
        raise CorpusError("corpus augmentation needs scipy: pip install scipy (or codeckit[metrics])") from None
    return scipy


def room_impulse_response(rt60: float, drr_db: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic RIR: a unit direct path, then noise decaying 60 dB in `rt60` s, `drr_db` below the direct path.

    The tail starts 2 ms after the direct path, ramps in over 5 ms (early reflections thin out the onset) and
    is low-passed at 6 kHz (air and wall absorption damp high frequencies first).
    """
    signal = _scipy().signal
    n = int(round(rt60 * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * 10.0 ** (-3.0 * t / rt60)
    tail = signal.sosfilt(signal.butter(1, min(6000.0, 0.45 * sr), fs=sr, output="sos"), tail)
    delay = int(0.002 * sr)
    tail[:delay] = 0.0
    ramp = int(0.005 * sr)
    tail[delay : delay + ramp] *= np.linspace(0.0, 1.0, ramp, endpoint=False)
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / np.sum(tail**2))
    tail[0] = 1.0
    return tail


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """`x` convolved with `rir`, keeping the whole reverberant tail (len(x) + len(rir) - 1 samples)."""
    return _scipy().signal.fftconvolve(x, rir, mode="full")


def biquad_sos(b: Biquad, sr: int) -> np.ndarray:
    """The second-order section (1, 6) of one EQ filter at sample rate `sr`."""
    if not 0.0 < b.freq < sr / 2:
        raise CorpusError(f"EQ frequency {b.freq:.0f} Hz is outside (0, {sr / 2:.0f}) Hz at {sr} Hz")
    if b.kind == "highpass":
        return _scipy().signal.butter(2, b.freq, btype="highpass", fs=sr, output="sos")
    a = 10.0 ** (b.gain_db / 40.0)
    w0 = 2.0 * np.pi * b.freq / sr
    cos, alpha = np.cos(w0), np.sin(w0) / (2.0 * b.q)
    if b.kind == "peak":
        num = [1 + alpha * a, -2 * cos, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cos, 1 - alpha / a]
    elif b.kind in ("lowshelf", "highshelf"):
        s = 1.0 if b.kind == "lowshelf" else -1.0  # the high shelf is the low shelf with cos negated
        sq = 2.0 * np.sqrt(a) * alpha
        num = [a * ((a + 1) - s * (a - 1) * cos + sq), s * 2 * a * ((a - 1) - s * (a + 1) * cos)]
        num.append(a * ((a + 1) - s * (a - 1) * cos - sq))
        den = [(a + 1) + s * (a - 1) * cos + sq, -s * 2 * ((a - 1) + s * (a + 1) * cos)]
        den.append((a + 1) + s * (a - 1) * cos - sq)
    else:
        raise CorpusError(f"unknown EQ filter '{b.kind}' (known: highpass, peak, lowshelf, highshelf)")
    num, den = np.asarray(num) / den[0], np.asarray(den) / den[0]
    return np.concatenate([num, den])[None, :]


def equalize(x: np.ndarray, sr: int, eq: tuple[Biquad, ...]) -> np.ndarray:
    """`x` through the EQ chain `eq` (causal IIR filtering, as a microphone and preamp would)."""
    if not eq:
        return x
    sos = np.concatenate([biquad_sos(b, sr) for b in eq])
    return _scipy().signal.sosfilt(sos, x)


def coloured_noise(n: int, slope: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """`n` samples of unit-power noise whose power spectrum falls as 1 / f**slope (flat below 20 Hz)."""
    m = _scipy().fft.next_fast_len(n, real=True)  # then cut: an utterance's length may be a large prime
    spectrum = np.fft.rfft(rng.standard_normal(m))
    f = np.maximum(np.fft.rfftfreq(m, 1.0 / sr), 20.0)
    noise = np.fft.irfft(spectrum * f ** (-slope / 2.0), m)[:n]
    return noise / np.sqrt(np.mean(noise**2))


def add_noise(x: np.ndarray, snr_db: float, slope: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """`x` plus coloured noise `snr_db` below its mean power."""
    power = float(np.mean(x**2))
    if power == 0.0:
        return x
    return x + coloured_noise(len(x), slope, sr, rng) * np.sqrt(power / 10.0 ** (snr_db / 10.0))


def set_peak(x: np.ndarray, peak_dbfs: float) -> np.ndarray:
    """`x` scaled so that its peak is `peak_dbfs` dB below full scale."""
    peak = float(np.max(np.abs(x)))
    return x if peak == 0.0 else x * (10.0 ** (peak_dbfs / 20.0) / peak)


def apply(x: np.ndarray, sr: int, rec: Recording, utt: str, seed: int) -> np.ndarray:
    """Utterance `utt`'s audio `x` (mono, float) through its recording chain `rec`: reverb, EQ, noise, level."""
    y = np.asarray(x, dtype=np.float64)
    if rec.rt60 is not None:
        y = reverberate(y, room_impulse_response(rec.rt60, rec.drr_db, sr, _rng(seed, utt, 1)))
    y = equalize(y, sr, rec.eq)
    if rec.snr_db is not None:
        y = add_noise(y, rec.snr_db, rec.noise_slope, sr, _rng(seed, utt, 2))
    return set_peak(y, rec.peak_dbfs)
