"""Phone purity, cluster purity and PNMI (HuBERT, Hsu et al. 2021, IV-B) on hand-computed tiny cases."""

from __future__ import annotations

import numpy as np
import pytest

from codeckit.metrics.base import MetricError
from codeckit.metrics.pnmi import frame_labels, joint_counts, unit_phone_scores


def _scores(units, phones):
    return unit_phone_scores([np.array(units)], [np.array(phones)])


def test_perfect_alignment_scores_one():
    s = _scores([5, 5, 7, 7, 1, 1], ["a", "a", "b", "b", "c", "c"])
    assert (s.phone_purity, s.cluster_purity, s.pnmi, s.frames) == (1.0, 1.0, pytest.approx(1.0), 6)


def test_independent_units_score_zero():
    """Every (phone, unit) pair equally often: I(y; z) = 0, each unit's best phone covers half its frames."""
    s = _scores([1, 2, 1, 2], ["a", "a", "b", "b"])
    assert s.pnmi == pytest.approx(0.0, abs=1e-12)
    assert s.phone_purity == pytest.approx(0.5) and s.cluster_purity == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    big = unit_phone_scores([rng.integers(0, 50, 200_000)], [rng.integers(0, 40, 200_000)])
    assert big.pnmi < 0.01  # independent draws: only the finite-sample bias remains


def test_split_phone_keeps_pnmi_but_lowers_cluster_purity():
    """phones a a b b, units 1 2 3 3: every unit is pure (phone purity 1, PNMI 1); phone a is spread over two
    units, so cluster purity = max_z p(a, z) + max_z p(b, z) = 1/4 + 1/2."""
    s = _scores([1, 2, 3, 3], ["a", "a", "b", "b"])
    assert s.phone_purity == pytest.approx(1.0) and s.pnmi == pytest.approx(1.0)
    assert s.cluster_purity == pytest.approx(0.75)


def test_merged_phones_by_hand():
    """phones a b c c, units 1 1 2 2: H(y) = 1.5 bits, H(y|z) = 0.5 bit, so PNMI = 1 / 1.5; phone purity
    = 1/4 + 1/2, cluster purity = 1/4 + 1/4 + 1/2."""
    s = _scores([1, 1, 2, 2], ["a", "b", "c", "c"])
    assert s.pnmi == pytest.approx(2 / 3)
    assert s.phone_purity == pytest.approx(0.75) and s.cluster_purity == pytest.approx(1.0)


def test_utterances_pooled_and_trimmed():
    """Frames of all utterances are pooled; one or two extra edge frames are cut, more is an error."""
    s = unit_phone_scores([np.array([1, 1, 2]), np.array([2, 1, 9])], [np.array(["a", "a", "b", "b"]), ["b", "a"]])
    assert s.frames == 5 and s.phone_purity == pytest.approx(1.0)  # the unit 9 frame is cut with the extra
    assert joint_counts(np.array([1, 1, 2]), np.array(["x", "x", "y"])).tolist() == [[2, 0], [0, 1]]
    with pytest.raises(MetricError, match="utterance 0: 3 unit frames but 9 phone frames"):
        unit_phone_scores([np.array([1, 1, 2])], [np.array(["a"] * 9)])
    with pytest.raises(MetricError, match="H\\(phone\\) = 0"):
        _scores([1, 2, 3], ["a", "a", "a"])
    with pytest.raises(MetricError, match="no frames"):
        _scores([], [])


def test_frame_labels_from_segments():
    """At 10 frames/s, frame k's centre is (k + 0.5) / 10 s: a segment [0.1, 0.3) covers frames 1 and 2."""
    labels = frame_labels([(0.0, 0.1, "a"), (0.1, 0.2, "b"), (0.3, 0.15, "c")], 10.0, 6)
    assert labels.tolist() == ["a", "b", "b", "c", "sil", "sil"]
    with pytest.raises(MetricError, match="frame_rate"):
        frame_labels([], 0.0, 3)
