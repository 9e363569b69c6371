"""ONNX export of a codec that sends pitch (YIN in the encoder graph, the harmonic head in the decoder graph):
the same codes and audio as PyTorch through the torch-free runner, at two batch sizes and lengths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from codeckit.export.exporter import export_codec
from codeckit.export.graphs import prepare_for_export
from codeckit.export.runner import OnnxCodec
from codeckit.nn.pitch import yin_pitch

pytestmark = pytest.mark.usefixtures("one_thread")


def _speechlike(batch: int, seconds: float) -> np.ndarray:
    """Harmonic tones gliding in F0 with a pause and a little noise: voiced and unvoiced frames."""
    gen = torch.Generator().manual_seed(3)
    t = torch.arange(int(8000 * seconds)) / 8000
    rows = []
    for b in range(batch):
        f0 = 120 + 60 * b + 40 * torch.sin(2 * math.pi * 1.5 * t)
        phase = 2 * math.pi * torch.cumsum(f0 / 8000, 0)
        tone = sum(torch.sin(k * phase) / k for k in range(1, 6)) * 0.2
        tone[len(t) // 3 : len(t) // 2] = 0
        rows.append(tone + 0.003 * torch.randn(len(t), generator=gen))
    return torch.stack(rows)[:, None].numpy()


def test_yin_traces_to_the_same_pitch_as_eager():
    audio = torch.from_numpy(_speechlike(2, 0.5))
    eager = yin_pitch(audio, 8000, 40, 60.0, 400.0)
    traced = torch.jit.trace(lambda a: tuple(yin_pitch(a, 8000, 40, 60.0, 400.0)), audio, check_trace=False)
    f0, voiced = traced(audio)
    assert torch.equal(voiced, eager.voiced) and torch.allclose(f0, eager.f0, rtol=1e-4)


def test_pitch_codec_onnx_matches_pytorch(make_codec, tiny_pitch_vocos, tmp_path):
    codec = make_codec(tiny_pitch_vocos(), 0).eval()
    paths = export_codec(codec, tmp_path)
    assert sorted(paths) == ["decoder", "encoder"]
    runner = OnnxCodec(tmp_path)
    model = prepare_for_export(codec)
    for batch, seconds in ((1, 0.6), (2, 0.9)):
        audio = _speechlike(batch, seconds)
        with torch.no_grad():
            ref_codes = model.encode(torch.from_numpy(audio))
            ref_audio = model.decode(ref_codes, length=audio.shape[-1]).numpy()
        codes = runner.encode(audio)
        assert (ref_codes[0] > 0).any() and (ref_codes[0] == 0).any()  # voiced and unvoiced frames
        assert all(np.array_equal(c, r.numpy()) for c, r in zip(codes, ref_codes))
        decoded = runner.decode(codes, length=audio.shape[-1])
        assert np.abs(decoded - ref_audio).max() <= 1e-4 * max(1.0, np.abs(ref_audio).max())
