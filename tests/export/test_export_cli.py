"""`codeckit export MODEL_DIR`: writes and verifies the graphs; bad options give one-line errors."""

from __future__ import annotations

import numpy as np

from codeckit.cli import main
from codeckit.codecs import save_codec
from codeckit.export.runner import OnnxCodec


def test_export_command(tmp_path, capsys, reflect_seanet):
    codec = reflect_seanet
    model_dir = save_codec(codec, tmp_path / "model")
    assert main(["export", str(model_dir), "--out", str(tmp_path / "onnx"), "--chunk-frames", "8"]) == 0
    out = capsys.readouterr().out
    assert "verified:" in out and "encoder_step.onnx" in out
    runner = OnnxCodec(tmp_path / "onnx")
    assert runner.chunk_samples == 8 * codec.hop_length
    codes = runner.encode(np.zeros((1, 1, runner.min_samples), np.float32))
    assert len(codes) == codec.n_levels


def test_export_command_errors(tmp_path, capsys, reflect_seanet):
    codec = reflect_seanet
    model_dir = save_codec(codec, tmp_path / "model")
    assert main(["export", str(model_dir), "--chunk-frames", "0"]) == 2
    assert "chunk_frames must be a positive multiple" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing")]) == 2
