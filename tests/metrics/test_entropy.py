"""Effective bitrate from token entropy, and nominal bitrates of shipped configs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeckit.metrics.entropy import TokenHistogram, effective_bitrate, entropy_bits


def test_constant_stream_has_zero_effective_bitrate():
    codes = [torch.full((1, 50), 7), torch.full((1, 100), 0)]
    assert effective_bitrate([codes], [1024, 1024], [50.0, 100.0]) == 0.0


def test_uniform_tokens_reach_log2_codebook_size():
    k = 16
    codes = [np.arange(k * 20) % k]
    assert effective_bitrate([codes], [k], [75.0]) == pytest.approx(75.0 * 4)


def test_histogram_accumulates_over_streams_and_levels():
    h = TokenHistogram([4, 8])
    h.update([np.zeros(10, dtype=np.int64), np.arange(8)])
    h.update([np.ones(10, dtype=np.int64), np.arange(8)])
    assert h.entropies() == pytest.approx([1.0, 3.0])
    assert h.usage() == pytest.approx([0.5, 1.0])
    assert h.perplexity() == pytest.approx([2.0, 8.0])
    assert h.effective_bitrate([10.0, 20.0]) == pytest.approx(10 * 1 + 20 * 3)


def test_bad_codes_are_rejected():
    h = TokenHistogram([4])
    with pytest.raises(ValueError, match="lie in"):
        h.update([np.array([0, 4])])
    with pytest.raises(ValueError, match="levels"):
        h.update([np.array([0]), np.array([1])])
    with pytest.raises(ValueError, match="integers"):
        h.update([np.array([0.5])])
    with pytest.raises(ValueError, match="empty"):
        entropy_bits(np.zeros(3))
