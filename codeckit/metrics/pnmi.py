"""How well discrete units match phones: phone purity, cluster purity and PNMI (Hsu et al. 2021, HuBERT, IV-B).

From frame-aligned phone labels y and unit labels z, the joint distribution p(y, z) is counted over all
frames. Phone purity is E_z[max_y p(y|z)] (how well one unit predicts a phone), cluster purity is
E_y[max_z p(z|y)] (how concentrated a phone is on one unit), and PNMI is I(y; z) / H(y), the share of
the phones' uncertainty that the units remove: 1 when units determine phones, 0 when independent.
Phone segments (start, duration, phone in seconds) become frame labels with `frame_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from codeckit.metrics.base import MetricError

MAX_FRAME_MISMATCH = 2  # unit and phone frame counts of one utterance may differ by this much (edge padding)


@dataclass(frozen=True)
class PhoneScores:
    """Phone purity, cluster purity and PNMI of one set of units, over `frames` frames."""

    phone_purity: float
    cluster_purity: float
    pnmi: float
    frames: int


def joint_counts(units: np.ndarray, phones: np.ndarray) -> np.ndarray:
    """Counts (n_phones, n_units) of frames with each (phone, unit) pair; labels may be any hashable values."""
    units, phones = np.asarray(units).reshape(-1), np.asarray(phones).reshape(-1)
    if units.shape != phones.shape:
        raise MetricError(f"units and phones must have one label per frame, got {units.shape} and {phones.shape}")
    if units.size == 0:
        raise MetricError("no frames to score units against phones")
    _, y = np.unique(phones, return_inverse=True)
    _, z = np.unique(units, return_inverse=True)
    counts = np.zeros((y.max() + 1, z.max() + 1), dtype=np.int64)
    np.add.at(counts, (y, z), 1)
    return counts


def scores_from_counts(counts: np.ndarray) -> PhoneScores:
    """Phone purity, cluster purity and PNMI from a (phones, units) joint count table."""
    total = counts.sum()
    p = counts / total
    py, pz = p.sum(axis=1), p.sum(axis=0)
    nz = p > 0
    mutual = float(np.sum(p[nz] * np.log(p[nz] / np.outer(py, pz)[nz])))
    h_y = float(-np.sum(py[py > 0] * np.log(py[py > 0])))
    if h_y == 0.0:
        raise MetricError("PNMI is undefined when every frame has the same phone (H(phone) = 0)")
    return PhoneScores(float(p.max(axis=0).sum()), float(p.max(axis=1).sum()), max(0.0, mutual / h_y), int(total))


def unit_phone_scores(units: Sequence[np.ndarray], phones: Sequence[np.ndarray]) -> PhoneScores:
    """Scores over utterances: `units[i]` and `phones[i]` label utterance i's frames at one frame rate.

    Each pair is cut to its shorter length when they differ by at most MAX_FRAME_MISMATCH frames (padding at
    the edges); a larger difference is a MetricError naming the utterance, as the rates must differ.
    """
    if len(units) != len(phones):
        raise MetricError(f"{len(units)} unit sequences but {len(phones)} phone sequences")
    us, ps = [], []
    for i, (u, p) in enumerate(zip(units, phones)):
        u, p = np.asarray(u).reshape(-1), np.asarray(p).reshape(-1)
        if abs(len(u) - len(p)) > MAX_FRAME_MISMATCH:
            raise MetricError(
                f"utterance {i}: {len(u)} unit frames but {len(p)} phone frames (are they at the same frame rate?)"
            )
        n = min(len(u), len(p))
        us.append(u[:n])
        ps.append(p[:n])
    return scores_from_counts(joint_counts(np.concatenate(us), np.concatenate(ps)))


def frame_labels(
    segments: Sequence[tuple[float, float, str]], frame_rate: float, n_frames: int, fill: str = "sil"
) -> np.ndarray:
    """The phone at each frame's centre ((k + 0.5) / frame_rate s) from (start s, duration s, phone) segments;
    frames that no segment covers get `fill`."""
    if frame_rate <= 0 or n_frames < 0:
        raise MetricError(f"frame_rate must be > 0 and n_frames >= 0, got {frame_rate} and {n_frames}")
    centres = (np.arange(n_frames) + 0.5) / frame_rate
    labels = np.full(n_frames, fill, dtype=object)
    for start, dur, phone in segments:
        labels[(centres >= start) & (centres < start + dur)] = phone
    return labels
