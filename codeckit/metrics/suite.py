"""The metric suite: every quality metric by name, and scoring one degraded signal against its reference.

`score` removes the degraded signal's delay (the codec's, given by the caller; estimated on the pair only
when none is given), then runs each metric on the aligned pair. A metric that fails is recorded with its
reason, never given a default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from codeckit.metrics.align import estimate_delay, shift
from codeckit.metrics.base import MetricError
from codeckit.metrics.pesq import pesq_nb, pesq_wb
from codeckit.metrics.sisdr import si_sdr
from codeckit.metrics.spectral import mel_distance, mrstft_distance
from codeckit.metrics.stoi import estoi, stoi
from codeckit.metrics.visqol import visqol_audio, visqol_speech, visqol_speech_polynomial
from codeckit.metrics.wer import ASR_NAME, wer


@dataclass(frozen=True)
class MetricSpec:
    """A metric: its function `(reference, degraded, sample_rate) -> float` (a `needs_text` metric's is
    `(degraded, sample_rate, transcript) -> float`), direction and how it is computed."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    label: str
    rate_note: str  # the rate the metric runs at, and how inputs get there
    default: bool = True  # computed when no metric list is given
    needs_text: bool = False  # scored against the file's transcript, not the reference audio


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("pesq_wb", pesq_wb, True, "PESQ-WB", "16 kHz (inputs resampled with soxr)"),
        MetricSpec("pesq_nb", pesq_nb, True, "PESQ-NB", "8 kHz (inputs resampled with soxr)"),
        MetricSpec("stoi", stoi, True, "STOI", "10 kHz (pystoi resamples internally)"),
        MetricSpec("estoi", estoi, True, "ESTOI", "10 kHz (pystoi resamples internally)"),
        MetricSpec(
            "visqol_speech",
            visqol_speech,
            True,
            "ViSQOL speech",
            "16 kHz (resampled with soxr; ViSQOL v3's default lattice MOS model, as published ViSQOL-speech figures)",
        ),
        MetricSpec(
            "visqol_speech_poly",
            visqol_speech_polynomial,
            True,
            "ViSQOL speech (poly)",
            "16 kHz (resampled with soxr; the polynomial MOS map, not comparable with lattice scores)",
            default=False,
        ),
        MetricSpec("visqol_audio", visqol_audio, True, "ViSQOL audio", "48 kHz (inputs resampled with soxr)"),
        MetricSpec("mel_distance", mel_distance, False, "Mel dist.", "the reference's own rate"),
        MetricSpec("mrstft_distance", mrstft_distance, False, "MR-STFT dist.", "the reference's own rate"),
        MetricSpec("si_sdr", si_sdr, True, "SI-SDR (dB)", "the reference's own rate"),
        MetricSpec(
            "wer",
            wer,
            False,
            "WER",
            f"16 kHz (resampled with soxr; ASR {ASR_NAME}, offline; transcripts with under 80% of their words in "
            "its English dictionary are not scored)",
            default=False,
            needs_text=True,
        ),
    )
}
DEFAULT_METRICS: list[str] = [m.name for m in METRICS.values() if m.default]
TEXT_METRICS: list[str] = [m.name for m in METRICS.values() if m.needs_text]  # default too where data has text


@dataclass
class Scores:
    """The outcome of scoring one pair: the removed delay, metric values, and failures with their reasons."""

    delay: int  # samples of the degraded signal's lag that were removed
    sample_rate: int
    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def delay_ms(self) -> float:
        return 1000.0 * self.delay / self.sample_rate


def check_metric_names(names: Sequence[str]) -> list[str]:
    """`names` validated against METRICS (a MetricError names the unknown one and lists the known ones)."""
    for n in names:
        if n not in METRICS:
            raise MetricError(f"unknown metric '{n}'; known: {', '.join(METRICS)}")
    return list(names)


def score(
    reference,
    degraded,
    sample_rate: int,
    metrics: Sequence[str] | None = None,
    delay: int | None = None,
    max_delay_s: float = 0.5,
    text: str | None = None,
) -> Scores:
    """Remove `delay` samples of lag from `degraded` and compute `metrics` (DEFAULT_METRICS when None).

    Both signals are mono at `sample_rate`. `delay` is the codec's delay; None estimates it on this pair
    alone (cross-correlation within +-max_delay_s), which is only safe for phase-preserving codecs. The
    alignment failing (e.g. a silent output) raises MetricError; a single metric failing is recorded in
    `Scores.errors`. `text` is the file's transcript, for the `needs_text` metrics (WER).
    """
    names = check_metric_names(DEFAULT_METRICS if metrics is None else metrics)
    if delay is None:
        delay = estimate_delay(reference, degraded, sample_rate, max_delay_s)
    ref, deg, delay = shift(reference, degraded, delay)
    out = Scores(delay=delay, sample_rate=sample_rate)
    for name in names:
        try:
            out.values[name] = _compute(METRICS[name], ref, deg, sample_rate, text)
        except MetricError as e:
            out.errors[name] = str(e)
    return out


def _compute(spec: MetricSpec, ref, deg, sample_rate: int, text: str | None) -> float:
    """One metric on an aligned pair; a text metric scores `deg` against `text` (a MetricError when there is none)."""
    if not spec.needs_text:
        return spec.fn(ref, deg, sample_rate)
    if text is None:
        raise MetricError(f"{spec.label} needs a transcript and this file has none (a 'text' file beside wav.scp)")
    return spec.fn(deg, sample_rate, text)
