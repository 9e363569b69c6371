"""A quantizer defined outside the package (here, in this test module) plugs in with one registry line: a codec
built from a config dict names it, the real Trainer trains it a step, the Python API tokenizes with it, and the
ONNX export runs its own `export_encode_level` / `export_decode_level`, decoding as PyTorch does. A level without
them is refused with one ExportError before anything is written."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

import codeckit
from codeckit.codecs import build_codec
from codeckit.export.errors import ExportError
from codeckit.export.exporter import export_codec
from codeckit.export.runner import OnnxCodec
from codeckit.quantizers import SingleCodebook
from codeckit.quantizers.common import LevelOutput
from codeckit.registry import QUANTIZERS
from codeckit.train.config import training_config_from_dict
from codeckit.train.trainer import Trainer

SR = 16000


@QUANTIZERS.register("test_sign_unexported")
class SignLevel(SingleCodebook):
    """Each of `dim` channels quantized to +-scale by its sign: 2**dim codes, the sign bits; `scale` is learnt."""

    def __init__(self, dim: int, scale: float = 0.1):
        super().__init__()
        self.dim = dim
        self.codebook_sizes = [2**dim]
        self.scale = nn.Parameter(torch.tensor(float(scale)))
        self.register_buffer("bits", (2 ** torch.arange(dim))[None, :, None], persistent=False)

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, dim, T) -> (B, T): the channels' sign bits as one number."""
        return ((latents > 0).long() * self.bits).sum(1)

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) -> (B, dim, T): +-scale per channel from the code's bits."""
        return self.scale * ((codes[:, None, :] // self.bits) % 2 * 2 - 1).float()

    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        """Straight-through to the latents; the scale learns from the output and a commitment loss."""
        codes = self.encode_level(latents)
        q = self.decode_level(codes)
        st = latents if st_latents is None else st_latents
        return LevelOutput(q + (st - st.detach()), codes, {"commitment": (latents - q).pow(2).mean()}, {})


@QUANTIZERS.register("test_sign")
class ExportableSignLevel(SignLevel):
    """`SignLevel` with its ONNX export: both directions are elementwise ops, traceable as they are."""

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level`, traced."""
        return self.encode_level(latents)

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level`, traced."""
        return self.decode_level(codes)


def _seanet() -> dict:
    return {"name": "seanet", "dimension": 4, "n_filters": 2, "ratios": [4, 2], "lstm": 0, "causal": True}


def model_config(level: str) -> dict:
    """A tiny causal SEANet codec (hop 8) over a 2-level residual stack of `level`."""
    quantizer = {"name": "rvq", "n_levels": 2, "level": {"name": level, "dim": 4}}
    return {"sample_rate": SR, "encoder": _seanet(), "quantizer": quantizer, "decoder": _seanet()}


def write_corpus(directory: Path, n: int = 4) -> Path:
    """`n` quarter-second noisy tones as wav files; returns their wav.scp."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True)
    lines = []
    for i in range(n):
        t = np.arange(SR // 4) / SR
        x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 400) * t) + 0.01 * rng.standard_normal(len(t))
        sf.write(directory / f"u{i}.wav", x.astype(np.float32), SR)
        lines.append(f"u{i} {directory / f'u{i}.wav'}")
    (directory / "wav.scp").write_text("\n".join(lines) + "\n")
    return directory / "wav.scp"


def train_one_step(tmp_path: Path) -> Path:
    """One step of the real Trainer, reconstruction loss only; returns the model directory it writes."""
    scp = write_corpus(tmp_path / "corpus")
    cfg = {
        "model": model_config("test_sign"),
        "data": {"train": str(scp), "segment_seconds": 0.05, "batch_size": 2, "num_workers": 0},
        "train": {"max_steps": 1, "lr": 1e-3, "precision": "fp32", "sample_every": 0, "progress": False},
        "losses": {"reconstruction": [{"name": "l1", "weight": 1.0}]},
    }
    trainer = Trainer(training_config_from_dict(copy.deepcopy(cfg)), tmp_path / "exp", device="cpu")
    try:
        trainer.fit()
    finally:
        trainer.close()
    return tmp_path / "exp" / "model"


def test_trained_external_quantizer_exports_and_decodes_as_pytorch(tmp_path):
    model = codeckit.load(train_one_step(tmp_path))
    assert isinstance(model.codec.quantizer.levels[0], ExportableSignLevel)
    audio = (0.3 * np.random.default_rng(1).standard_normal((1, 8 * 50 + 3))).astype(np.float32)
    tokens = model.tokenize(audio, sr=SR)
    ref = model.detokenize(tokens)[0].numpy()

    export_codec(model.codec, tmp_path / "onnx")
    runner = OnnxCodec(tmp_path / "onnx", threads=1)
    codes = runner.encode(audio[None])
    assert all(np.array_equal(c[0, : t.shape[0]], t.numpy()) for c, t in zip(codes, tokens[0]))
    decoded = runner.decode([c.numpy() for c in tokens.codes], length=tokens.lengths[0])[0]
    assert decoded.shape == ref.shape and np.abs(decoded - ref).max() <= 1e-4


def test_level_without_export_is_refused_before_writing(tmp_path):
    torch.manual_seed(0)
    codec = build_codec(model_config("test_sign_unexported")).eval()
    with pytest.raises(ExportError, match="quantizer level SignLevel has no ONNX export"):
        export_codec(codec, tmp_path / "onnx")
    assert not any((tmp_path / "onnx").glob("*.onnx"))
