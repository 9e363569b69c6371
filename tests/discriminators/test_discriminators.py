"""Discriminators: output structure, gradients, config errors, short inputs."""

import pytest
import torch

from codeckit.discriminators import build_discriminators
from codeckit.errors import ConfigError
from codeckit.registry import DISCRIMINATORS

TINY = {
    "mpd": {"name": "mpd", "periods": [2, 3, 5, 7, 11], "base_channels": 2, "max_channels": 8},
    "msd": {"name": "msd", "n_scales": 3, "base_channels": 4, "max_channels": 16},
    "msstft": {"name": "msstft", "n_ffts": [256, 128, 64], "filters": 4},
    "mrd": {"name": "mrd", "n_ffts": [256, 128], "base_channels": 4},
}
COUNTS = {"mpd": 5, "msd": 3, "msstft": 3, "mrd": 2}


def test_registered_names():
    assert {"mpd", "msd", "msstft", "mrd"} <= set(DISCRIMINATORS.names())


@pytest.mark.parametrize("name", sorted(TINY))
def test_outputs_and_gradients(name):
    torch.manual_seed(0)
    d = build_discriminators([TINY[name]])
    audio = torch.randn(2, 1, 2048, requires_grad=True)
    out = d(audio)
    assert len(out) == COUNTS[name]
    for logits, feats in out:
        assert logits.dim() == 2 and logits.shape[0] == 2 and torch.isfinite(logits).all()
        assert len(feats) >= 3 and all(f.shape[0] == 2 for f in feats)
    sum(lg.mean() for lg, _ in out).backward()
    assert audio.grad is not None and audio.grad.abs().sum() > 0
    assert all(p.grad is not None for p in d.parameters())


def test_items_are_judged_independently():
    torch.manual_seed(0)
    d = build_discriminators(list(TINY.values()))
    a, b = torch.randn(1, 1, 2048), torch.randn(1, 1, 2048)
    both = d(torch.cat([a, b]))
    alone = d(b)
    for (lg2, _), (lg1, _) in zip(both, alone):
        torch.testing.assert_close(lg2[1:], lg1, atol=1e-5, rtol=1e-4)


def test_set_from_config_concatenates_in_order():
    d = build_discriminators([TINY["mpd"], TINY["mrd"]])
    assert len(d(torch.randn(1, 1, 1024))) == 5 + 2


def test_msstft_pads_short_audio():
    d = build_discriminators([{"name": "msstft", "n_ffts": [512], "filters": 4}])
    ((logits, _),) = d(torch.randn(1, 1, 100))
    assert logits.numel() > 0


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="unknown discriminator 'nope'"):
        build_discriminators([{"name": "nope"}])
    with pytest.raises(ConfigError, match="unknown key 'periodz'"):
        build_discriminators([{"name": "mpd", "periodz": [2]}])
    with pytest.raises(ValueError, match="band"):
        build_discriminators([{"name": "mrd", "bands": [[0.5, 0.2]]}])


def test_wrong_channels_raise():
    d = build_discriminators([TINY["mpd"]])
    with pytest.raises(ValueError, match=r"\(batch, 1, samples\)"):
        d(torch.randn(1, 2, 1024))


def test_stereo_discriminators():
    d = build_discriminators([TINY["mrd"], TINY["msd"]], channels=2)
    assert len(d(torch.randn(1, 2, 1024))) == 5
