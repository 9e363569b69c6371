"""The duration predictor: shapes, padding independence, integer counts, that the fit learns a duration rule,
and its errors."""

from __future__ import annotations

import pytest
import torch

from codeckit.nn.duration import DurationError, DurationPredictor
from codeckit.tokens.dedup import Runs
from codeckit.units.duration_fit import DurationFitConfig, DurationFitError, fit_duration_predictor

pytestmark = pytest.mark.usefixtures("one_thread")


def test_padding_does_not_change_an_items_prediction():
    torch.manual_seed(0)
    pred = DurationPredictor(39, dim=16, n_layers=2).eval()
    a, b = torch.randn(1, 39, 7), torch.randn(1, 39, 11)
    batch = torch.cat([torch.nn.functional.pad(a, (0, 4)), b])
    mask = torch.ones(2, 11, dtype=torch.bool)
    mask[0, 7:] = False
    out = pred(batch, mask)
    assert out.shape == (2, 11)
    assert torch.allclose(out[0, :7], pred(a)[0], atol=1e-5) and torch.allclose(out[1], pred(b)[0], atol=1e-5)
    assert float(out[0, 7:].detach().abs().sum()) == 0.0
    counts = pred.counts(batch, mask, max_count=3)
    assert counts.dtype == torch.int64 and bool((counts[mask] >= 1).all()) and bool((counts <= 3).all())
    assert int(counts[0, 7:].sum()) == 0


def test_set_normalisation_standardises_the_input():
    pred = DurationPredictor(3, dim=4, n_layers=1)
    runs = torch.randn(500, 3) * torch.tensor([1.0, 10.0, 0.1]) + torch.tensor([5.0, -3.0, 0.0])
    pred.set_normalisation(runs)
    z = (runs - pred.mean) / pred.std
    assert torch.allclose(z.mean(0), torch.zeros(3), atol=1e-4) and torch.allclose(z.std(0), torch.ones(3), atol=1e-3)


def test_fit_learns_durations_that_depend_on_the_unit(units_codec):
    """Runs whose length is a function of the unit (1 + unit % 4 frames): the fit predicts unseen runs exactly
    (kernel 1: the rule has no context, which a wider kernel would learn to ignore only from more data)."""
    codec = units_codec()
    gen = torch.Generator().manual_seed(0)
    runs = []
    for _ in range(40):
        values = torch.randint(0, 12, (25,), generator=gen)
        runs.append(Runs(values, 1 + values % 4))
    config = DurationFitConfig(dim=32, kernel_size=1, steps=200, batch_size=16, lr=5e-3, dropout=0.0)
    predictor, summary = fit_duration_predictor(codec, runs, config)
    assert summary["train_utterances"] == 36 and summary["held_out_utterances"] == 4
    assert summary["held_out"]["exact"] > 0.95 and summary["held_out"]["frames_mae"] < 0.1
    assert not predictor.training


def test_bad_inputs_raise():
    pred = DurationPredictor(39, dim=8)
    with pytest.raises(DurationError, match=r"runs \(batch, 39, runs\)"):
        pred(torch.randn(1, 38, 5))
    with pytest.raises(DurationError, match=r"mask must be bool \(1, 5\)"):
        pred(torch.randn(1, 39, 5), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(DurationError, match="kernel_size must be odd"):
        DurationPredictor(39, kernel_size=4)


def test_fit_refuses_too_little_data(units_codec):
    with pytest.raises(DurationFitError, match="at least 2 non-empty utterances"):
        fit_duration_predictor(units_codec(), [Runs(torch.tensor([1]), torch.tensor([2]))])
