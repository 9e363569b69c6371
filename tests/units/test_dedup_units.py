"""Run-length encoding of a batch of units (units + durations) and its inverse round-trip exactly."""

from __future__ import annotations

import pytest
import torch

from codeckit.tokens.dedup import UnitRuns, dedup_units, restore_units
from codeckit.tokens.errors import TokenError


def test_round_trip_with_lengths_and_max_run():
    g = torch.Generator().manual_seed(0)
    units = torch.randint(0, 5, (3, 12), generator=g).repeat_interleave(3, dim=1)  # runs of >= 3
    lengths = [36, 20, 0]
    runs = dedup_units(units, lengths)
    assert runs.units.dtype == torch.long and runs.n_runs[2] == 0
    for i, n in enumerate(lengths):
        k = int(runs.n_runs[i])
        assert int(runs.durations[i, :k].sum()) == n and bool((runs.durations[i, k:] == 0).all())
        assert bool((runs.units[i, 1:k] != runs.units[i, : k - 1]).all()) if k > 1 else True
    restored, got = restore_units(runs, pad=-1)
    assert got == lengths
    for i, n in enumerate(lengths):
        assert torch.equal(restored[i, :n], units[i, :n]) and bool((restored[i, n:] == -1).all())
    capped = dedup_units(units[0], max_run=2)
    assert int(capped.durations.max()) <= 2 and torch.equal(restore_units(capped)[0][0], units[0])


def test_predicted_durations_restore_and_bad_runs_raise():
    runs = UnitRuns(torch.tensor([[4, 7, 4]]), torch.tensor([[1, 3, 2]]), torch.tensor([3]))
    assert restore_units(runs)[0].tolist() == [[4, 7, 7, 7, 4, 4]]
    with pytest.raises(TokenError, match="count 0"):
        restore_units(UnitRuns(torch.tensor([[4, 7]]), torch.tensor([[1, 0]]), torch.tensor([2])))
    with pytest.raises(TokenError, match="n_runs must lie in 0..2"):
        restore_units(UnitRuns(torch.tensor([[4, 7]]), torch.tensor([[1, 1]]), torch.tensor([3])))
    with pytest.raises(TokenError, match="int64 units"):
        dedup_units(torch.zeros(2, 3))
