"""The trainer with a tiny `vocos` codec, mpd + mrsd discriminators from step 0 and a windowed mel loss."""

from __future__ import annotations

import torch

from codeckit.codecs import load_codec
from codeckit.train.config import training_config_from_dict
from codeckit.train.trainer import Trainer

VOCOS_TINY = {
    "sample_rate": 16000,
    "encoder": {"name": "vocos", "latent_dim": 16, "hop_length": 320, "n_fft": 640, "dim": 16, "n_layers": 1},
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 16, "codebook_size": 16}},
    "decoder": {"name": "vocos", "latent_dim": 16, "hop_length": 320, "n_fft": 1280, "dim": 16, "n_layers": 1},
}


def test_vocos_trains_with_discriminators_from_step_zero(tmp_path, corpus, tiny_config, one_thread):
    cfg = tiny_config(corpus, max_steps=3, disc_start_step=0, checkpoint_every=3, sample_every=0)
    cfg["model"] = VOCOS_TINY
    cfg["losses"]["adversarial"] = "hinge"
    cfg["discriminators"] = [
        {"name": "mpd", "periods": [2, 3], "base_channels": 2, "max_channels": 8},
        {"name": "mrsd", "resolutions": [[256, 64, 256], [128, 32, 128]], "filters": 2},
    ]
    trainer = Trainer(training_config_from_dict(cfg), tmp_path / "exp", device="cpu")
    try:
        hist = trainer.fit()
    finally:
        trainer.close()
    assert [r["step"] for r in hist] == [1, 2, 3]
    for row in hist:  # the GAN runs from the first step
        assert {"loss/discriminator", "loss/adversarial", "loss/feature_matching", "loss/mel"} <= set(row)
        assert all(torch.isfinite(torch.tensor(v)) for k, v in row.items() if k.startswith("loss/"))
    codec = load_codec(tmp_path / "exp" / "model")
    assert codec.decode(codec.encode(torch.zeros(1, 1, 1600)), length=1600).shape == (1, 1, 1600)


def test_discriminators_see_one_window_of_the_batch(tmp_path, corpus, tiny_config):
    """`disc_segment_seconds` crops real and decoded audio at the same place; the losses keep the whole segment."""
    cfg = tiny_config(corpus, max_steps=1, disc_start_step=0, disc_segment_seconds=0.04, sample_every=0)
    trainer = Trainer(training_config_from_dict(cfg), tmp_path / "exp", device="cpu")
    try:
        audio = torch.randn(2, 1, 1600)
        fake = -audio
        real_crop, fake_crop = trainer._disc_crop(audio, fake)
        assert real_crop.shape == fake_crop.shape == (2, 1, 640)
        start = int((audio[0, 0] == real_crop[0, 0, 0]).nonzero()[0])
        assert torch.equal(audio[..., start : start + 640], real_crop)
        assert torch.equal(fake[..., start : start + 640], fake_crop)  # the same window of both
        assert trainer._disc_crop(audio[..., :320], fake[..., :320])[0].shape[-1] == 320  # shorter: unchanged
        hist = trainer.fit()
    finally:
        trainer.close()
    assert "loss/discriminator" in hist[0]


def test_disc_segment_seconds_must_be_positive(corpus, tiny_config):
    import pytest

    with pytest.raises(Exception, match="disc_segment_seconds"):
        training_config_from_dict(tiny_config(corpus, disc_segment_seconds=0))
