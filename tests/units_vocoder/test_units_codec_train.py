"""A units codec (MFCC + frozen k-means + `unit_hifigan`) through the real Trainer, the model directory and the
API: only the decoder learns, and the trained model tokenizes to units and detokenizes to audio."""

from __future__ import annotations

import copy

import pytest
import torch

import codeckit
from codeckit.codecs import load_codec
from codeckit.train.config import training_config_from_dict
from codeckit.train.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(units_model, units_corpus, tmp_path_factory):
    """(trainer's codec before training as a state dict, the trainer after 2 steps, its history, the exp dir)."""
    cfg = {
        "model": copy.deepcopy(units_model),
        "data": {"train": str(units_corpus), "segment_seconds": 0.2, "batch_size": 2, "num_workers": 0},
        "train": {"max_steps": 2, "lr": 1e-3, "lr_decay": "constant", "log_every": 1, "checkpoint_every": 2,
                  "sample_every": 0, "progress": False, "precision": "fp32"},
        "losses": {"reconstruction": [{"name": "mel", "weight": 15.0, "n_mels": [20, 40], "window_lengths": [128, 256]},
                                      {"name": "l1", "weight": 1.0}]},
    }  # fmt: skip
    exp = tmp_path_factory.mktemp("units_exp")
    trainer = Trainer(training_config_from_dict(cfg), exp, device="cpu")
    try:
        before = {k: v.clone() for k, v in trainer.codec.state_dict().items()}
        history = trainer.fit()
    finally:
        trainer.close()
    return before, trainer, history, exp


def test_only_the_decoder_learns(trained):
    before, trainer, history, _ = trained
    codec = trainer.codec
    assert [r["step"] for r in history] == [1, 2]
    assert not any(k.startswith("loss/quantizer/") for k in history[-1])  # k-means adds no loss term
    assert all(torch.isfinite(torch.tensor(r["loss/total"])) for r in history)
    trainable = {n for n, p in codec.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("decoder.") for n in trainable)
    optimized = {id(p) for g in trainer.opt_g.param_groups for p in g["params"]}
    assert {id(p) for n, p in codec.named_parameters() if n.startswith("decoder.")} <= optimized
    after = codec.state_dict()
    frozen = [k for k in before if k.startswith(("encoder.", "quantizer."))]
    assert "quantizer.centroids" in frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("decoder."))


def test_trained_model_tokenizes_and_detokenizes(trained, units_corpus):
    _, trainer, _, exp = trained
    model = codeckit.load(exp / "model")
    assert model.codebook_sizes == [12] and model.frame_rates == [100.0]
    wav = units_corpus.parent / "utt00.wav"
    tokens = model.tokenize(wav)  # 0.6 s at 100 Hz
    (units,) = tokens[0]
    assert units.dtype == torch.int64 and units.shape == (60,) and int(units.max()) < 12
    (audio,) = model.detokenize(tokens)
    assert audio.shape == (1, 60 * 160) and bool(torch.isfinite(audio).all())
    codec = load_codec(exp / "model")
    assert torch.equal(codec.quantizer.centroids, trainer.codec.quantizer.centroids)
