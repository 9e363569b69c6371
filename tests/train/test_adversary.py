"""The adversary on its own: its update moves only the discriminators, the codec's terms move only the codec,
a non-finite step is skipped, and its weights, optimizer and schedule round-trip through a checkpoint."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from codeckit.discriminators import build_discriminators
from codeckit.train.adversary import STATE_KEYS, Adversary
from codeckit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from codeckit.train.config import LossesConfig, TrainSection

TINY_MPD = {"name": "mpd", "periods": [2, 3], "base_channels": 2, "max_channels": 8}


def make_adversary(seed: int = 0, **train) -> Adversary:
    torch.manual_seed(seed)
    disc = build_discriminators([TINY_MPD])
    section = TrainSection(lr=1e-3, precision="fp32", lr_decay="exponential", lr_gamma=0.5, **train)
    return Adversary(disc, section, LossesConfig(adversarial="lsgan"), sample_rate=16000)


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, nn.Module]:
    """Real audio, and decoded audio made by a one-conv stand-in for the codec (which is returned too)."""
    torch.manual_seed(seed)
    gen = nn.Conv1d(1, 1, 3, padding=1)
    real = 0.1 * torch.randn(2, 1, 800)
    return real, gen(0.1 * torch.randn(2, 1, 800)), gen


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict[str, torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_update_changes_only_the_discriminators():
    adv = make_adversary()
    real, fake, gen = batch()
    disc_before, gen_before = snapshot(adv.disc), snapshot(gen)
    ok, metrics = adv.update(real, fake)
    assert ok and set(metrics) == {"loss/discriminator", "grad_norm/discriminator"}
    assert changed(disc_before, adv.disc)
    assert not changed(gen_before, gen) and all(p.grad is None for p in gen.parameters())
    assert adv.opt.state  # the adversary's own optimizer took the step


def test_generator_terms_train_the_codec_not_the_discriminators():
    adv = make_adversary()
    real, fake, gen = batch()
    terms = adv.generator_terms(real, fake)
    assert set(terms) == {"adversarial", "feature_matching"}
    sum(terms.values()).backward()
    assert all(p.grad is None for p in adv.disc.parameters())
    assert all(p.requires_grad for p in adv.disc.parameters())  # unfrozen again for the next update
    assert gen.weight.grad is not None and gen.weight.grad.abs().sum() > 0


def test_non_finite_update_is_skipped():
    adv = make_adversary()
    real, fake, _ = batch()
    before = snapshot(adv.disc)
    ok, metrics = adv.update(real, fake * float("nan"))
    assert not ok and not torch.isfinite(torch.tensor(metrics["loss/discriminator"]))
    assert not changed(before, adv.disc) and not adv.opt.state


def test_disc_lr_defaults_to_lr_and_follows_its_schedule():
    assert make_adversary().lr() == pytest.approx(1e-3)
    adv = make_adversary(disc_lr=4e-4)
    assert adv.lr() == pytest.approx(4e-4)
    adv.update(*batch()[:2])
    adv.sched.step()
    assert adv.lr() == pytest.approx(2e-4)  # lr_gamma 0.5 per step


def test_state_round_trips_through_a_checkpoint(tmp_path):
    real, fake, _ = batch()
    adv = make_adversary()
    for _ in range(2):
        adv.update(real, fake)
        adv.sched.step()
    state = adv.stateful.state()
    assert list(state) == list(STATE_KEYS)
    back = load_checkpoint(save_checkpoint(tmp_path, 2, state, keep=1))

    other = make_adversary(seed=5)  # other initial weights, fresh optimizer
    other.stateful.load(back, "ckpt")
    assert not changed(snapshot(adv.disc), other.disc)
    assert other.sched.state_dict() == adv.sched.state_dict() and other.lr() == adv.lr()
    saved, loaded = adv.opt.state_dict()["state"], other.opt.state_dict()["state"]
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[i][k], loaded[i][k]) for i in saved for k in saved[i])
    # the next step is the same step
    _, m1 = adv.update(real, fake)
    _, m2 = other.update(real, fake)
    assert m1 == m2 and not changed(snapshot(adv.disc), other.disc)


def test_a_checkpoint_without_discriminators_is_refused():
    adv = make_adversary()
    with pytest.raises(CheckpointError, match="ckpt has no discriminator state but the config names discriminators"):
        adv.stateful.load(dict.fromkeys(STATE_KEYS), "ckpt")
