"""The trainer's parts: the loss-weight table built from the config's weight fields, the registry of what a
checkpoint holds, and the exact checkpoint keys a run writes (older checkpoints must keep loading)."""

from __future__ import annotations

import copy

import pytest

from codeckit.train.checkpoint import CheckpointError
from codeckit.train.config import LossesConfig, training_config_from_dict
from codeckit.train.stateful import StateRegistry
from codeckit.train.trainer import Trainer

CHECKPOINT_KEYS = [
    "step",
    "epoch",
    "batch_in_epoch",
    "nan_streak",
    "bad_files",
    "skipped",
    "codec",
    "opt_g",
    "sched_g",
    "disc",
    "opt_d",
    "sched_d",
    "ema",
    "balancer",
    "rng",
    "config",
]


def test_loss_weights_table_from_the_config_fields():
    lc = LossesConfig(
        reconstruction=[{"name": "mel", "weight": 15.0}, {"name": "mel"}, {"name": "l1", "weight": 0.1}],
        adversarial_weight=3.0,
        quantizer_weights={"commitment": 0.25},
        quantizer_default_weight=0.5,
    )
    weights = lc.weights(adversarial=True)
    assert weights.table == {
        "mel": 15.0,
        "mel_1": 1.0,  # a repeated name gets its index, as its logged loss does
        "l1": 0.1,
        "adversarial": 3.0,
        "feature_matching": 2.0,
        "quantizer/commitment": 0.25,
    }
    assert weights["quantizer/commitment"] == 0.25 and weights["quantizer/codebook"] == 0.5  # the default
    assert list(weights.balanced()) == ["mel", "mel_1", "l1", "adversarial", "feature_matching"]
    assert "adversarial" not in lc.weights(adversarial=False).table
    with pytest.raises(KeyError):
        weights["other"]


class Counter:
    def __init__(self, n: int = 0):
        self.n = n

    def state_dict(self) -> dict:
        return {"n": self.n}

    def load_state_dict(self, state: dict) -> None:
        self.n = state["n"]


def test_state_registry_saves_in_order_and_restores():
    class Run:
        step = 3

    run, part, child = Run(), Counter(7), StateRegistry()
    child.part("inner", Counter(1), missing="has no inner state")
    reg = StateRegistry()
    reg.attribute(run, "step")
    reg.part("part", part)
    reg.part("absent", None)
    reg.extend(child)
    reg.value("note", lambda: "text")
    state = reg.state()
    assert state == {"step": 3, "part": {"n": 7}, "absent": None, "inner": {"n": 1}, "note": "text"}
    run.step, part.n = 0, 0
    reg.load({**state, "absent": {"n": 9}}, "ckpt")  # a part this run lacks is not restored
    assert run.step == 3 and part.n == 7
    reg.load({**state, "part": None}, "ckpt")  # optional: kept as it is
    with pytest.raises(CheckpointError, match="ckpt has no inner state"):
        reg.load({**state, "inner": None}, "ckpt")
    with pytest.raises(ValueError, match="twice"):
        reg.value("step", lambda: 0)


@pytest.mark.parametrize("gan", [True, False])
def test_checkpoint_keys_are_unchanged(tmp_path, corpus, tiny_config, gan, one_thread):
    cfg = tiny_config(corpus, ema_decay=0.9)
    if not gan:
        cfg["discriminators"] = []
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "exp", device="cpu")
    try:
        state = trainer.state()
    finally:
        trainer.close()
    assert list(state) == CHECKPOINT_KEYS
    assert (state["disc"] is not None) == gan and (state["opt_d"] is not None) == gan
    assert state["balancer"] is None and state["ema"] is not None
    assert isinstance(state["bad_files"], list) and isinstance(state["config"], str)
