"""Semantic distillation of quantizer level 1 (SpeechTokenizer): the loss, frame alignment, where its gradient goes
(the projection and the encoder, never the teacher or the decoder), and the trainer option end to end."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from codeckit.codecs import build_codec
from codeckit.configs import model_config
from codeckit.errors import ConfigError
from codeckit.losses.distill import align_frames, distill_loss
from codeckit.train.config import DistillConfig, LossesConfig, training_config_from_dict
from codeckit.train.objective import CodecObjective
from codeckit.train.trainer import Trainer


def speechtokenizer_d_axis(feature: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """`d_axis_distill_loss` of SpeechTokenizer (github.com/ZhangXInFD/SpeechTokenizer, speechtokenizer/trainer/
    loss.py), on its (batch, frames, dim) layout: cosine over axis 1 (time) per dimension, -log sigmoid, mean."""
    n = min(feature.size(1), target.size(1))
    return -torch.log(torch.sigmoid(F.cosine_similarity(feature[:, :n], target[:, :n], axis=1))).mean()


def test_d_axis_matches_speechtokenizer():
    torch.manual_seed(0)
    student, teacher = torch.randn(3, 7, 20), torch.randn(3, 7, 20)  # (B, D, T)
    ours = distill_loss(student, teacher, "d")
    theirs = speechtokenizer_d_axis(student.transpose(1, 2), teacher.transpose(1, 2))
    torch.testing.assert_close(ours, theirs)


def test_loss_values_by_hand():
    x = torch.randn(2, 5, 9)
    same = math.log1p(math.exp(-1.0))  # -log sigmoid(1)
    for axis in ("d", "t"):
        assert distill_loss(x, 3 * x, axis).item() == pytest.approx(same, abs=1e-6)  # cosine ignores scale
        assert distill_loss(x, -x, axis).item() == pytest.approx(math.log1p(math.exp(1.0)), abs=1e-6)
    # per frame, the two frames below are orthogonal to their targets; per dimension, each series is parallel
    s = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    t = torch.tensor([[[2.0, 0.0], [0.0, 3.0]]]).flip(-1).flip(-2)  # [[3, 0], [0, 2]] frame-swapped
    assert distill_loss(s, t, "d").item() == pytest.approx(same, abs=1e-6)
    with pytest.raises(ValueError, match="differ"):
        distill_loss(x, x[..., :4])


def test_align_frames_pools_or_interpolates():
    teacher = torch.arange(8.0).view(1, 1, 8)
    assert align_frames(teacher, 4).flatten().tolist() == [0.5, 2.5, 4.5, 6.5]  # mean of the two it covers
    up = align_frames(torch.tensor([[[0.0, 4.0]]]), 4)
    assert up.flatten().tolist() == [0.0, 1.0, 3.0, 4.0]  # linear, half-frame centred
    assert align_frames(teacher, 8) is teacher


@pytest.fixture
def distill_objective():
    torch.manual_seed(0)
    codec = build_codec(model_config("dac_tiny")["model"])
    losses = LossesConfig(distill=DistillConfig(teacher={"name": "mfcc"}))
    return codec, CodecObjective(losses, codec.sample_rate, torch.device("cpu"), False, codec)


def test_gradient_reaches_projection_and_encoder_not_teacher(distill_objective):
    codec, objective = distill_objective
    distill = objective.distill
    assert sum(p.numel() for p in distill.teacher.parameters() if p.requires_grad) == 0
    assert not distill.teacher.training
    teacher_state = {k: v.clone() for k, v in distill.teacher.state_dict(keep_vars=False).items()}
    audio = 0.1 * torch.randn(2, 1, 3200)
    out = codec(audio)
    terms = objective.reconstruction_terms(out.audio, audio)
    terms["distill"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in distill.projection.parameters())
    enc = [p.grad for p in codec.encoder.parameters()]
    assert all(g is not None for g in enc) and sum(g.abs().sum() for g in enc) > 0
    assert all(p.grad is None for p in codec.decoder.parameters())  # level 1's latents, not the decoded audio
    for k, v in distill.teacher.state_dict().items():
        torch.testing.assert_close(v, teacher_state[k])
    assert objective.parameters() == list(distill.projection.parameters())


def test_level1_is_the_first_levels_quantized_latents(distill_objective):
    """What the hook captures equals decoding level 1's codes (straight-through keeps the value)."""
    codec, objective = distill_objective
    codec.eval()
    audio = 0.1 * torch.randn(1, 1, 3200)
    out = codec(audio)
    captured = objective.distill._level1
    torch.testing.assert_close(captured, codec.quantizer.decode([out.codes[0]]))
    assert objective.distill(audio).item() > 0 and objective.distill._level1 is None  # used once


def test_bad_distill_configs_raise(tmp_path, corpus, tiny_config):
    cfg = tiny_config(corpus)
    cfg["losses"]["distill"] = {"teacher": {"n_ceps": 13}}
    with pytest.raises(ConfigError, match="key 'losses.distill' should be"):
        training_config_from_dict(copy.deepcopy(cfg))
    with pytest.raises(ValueError, match="teacher needs a 'name'"):
        DistillConfig(teacher={})
    cfg["losses"]["distill"] = {"teacher": {"name": "mfcc"}, "axis": "x"}
    with pytest.raises(ConfigError, match="losses.distill"):
        training_config_from_dict(copy.deepcopy(cfg))


def test_trainer_learns_and_checkpoints_the_projection(tmp_path, corpus, tiny_config, one_thread):
    cfg = tiny_config(corpus, max_steps=3, checkpoint_every=3)
    cfg["discriminators"] = []
    cfg["losses"]["distill"] = {"teacher": {"name": "mfcc"}, "weight": 2.0}
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "exp", device="cpu")
    try:
        before = trainer.objective.distill.projection.weight.detach().clone()
        history = trainer.fit()
        after = trainer.objective.distill.projection.weight.detach().clone()
        state = trainer.state()
    finally:
        trainer.close()
    assert all(math.isfinite(row["loss/distill"]) and row["loss/distill"] > 0 for row in history)
    assert not torch.equal(before, after)  # the projection is in the optimizer
    assert "distill" in state and torch.equal(state["distill"]["weight"], after)
    resumed = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "exp", device="cpu", resume=True)
    try:
        assert resumed.step == 3 and torch.equal(resumed.objective.distill.projection.weight, after)
    finally:
        resumed.close()
