"""ONNX export of `vocos` codecs: `codeckit export` of a causal one (step graphs), the onnxruntime runner against
PyTorch offline and streaming, and a centred one with upsampling (offline graphs, overlap-save streaming)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from codeckit.cli import main
from codeckit.codecs import load_codec, save_codec
from codeckit.export.exporter import export_codec
from codeckit.export.graphs import prepare_for_export
from codeckit.export.runner import OnnxCodec

HOP = 40


@pytest.fixture
def make(make_codec, tiny_vocos):
    """`make(causal, upsample)`: the tiny vocos codec of tests/conftest.py with phase features, random-init."""
    return lambda causal, upsample: make_codec(tiny_vocos(causal, upsample, phase=True))


def _audio(batch: int, frames: int, extra: int = 0) -> np.ndarray:
    gen = torch.Generator().manual_seed(1)
    return (torch.randn(batch, 1, frames * HOP + extra, generator=gen) * 0.3).numpy()


def test_export_command_causal_vocos(make, tmp_path, capsys):
    """Save, `codeckit export` (with its onnxruntime check), then the runner: offline and streamed == PyTorch."""
    model_dir = save_codec(make(causal=True, upsample=2), tmp_path / "model")
    assert main(["export", str(model_dir), "--out", str(tmp_path / "onnx")]) == 0
    out = capsys.readouterr().out
    assert "verified:" in out and "decoder_step.onnx" in out
    codec = prepare_for_export(load_codec(model_dir))
    runner = OnnxCodec(tmp_path / "onnx")
    assert runner.causal and runner.hop_lengths == [HOP, HOP]
    audio = _audio(2, 23, extra=13)
    with torch.no_grad():
        ref_codes = codec.encode(torch.from_numpy(audio))
        ref_audio = codec.decode(ref_codes, length=audio.shape[-1]).numpy()
    codes = runner.encode(audio)
    assert all(np.array_equal(c, r.numpy()) for c, r in zip(codes, ref_codes))
    decoded = runner.decode(codes, length=audio.shape[-1])
    assert np.abs(decoded - ref_audio).max() <= 1e-5
    # streaming with the step graphs: chunk sizes that are no multiple of the hop
    enc, dec = runner.stream_encoder(2), runner.stream_decoder(2)
    parts, pieces = [], []
    for i in range(0, audio.shape[-1], 57):
        parts.append(enc.push(audio[..., i : i + 57]))
        pieces.append(dec.push(parts[-1]))
    parts.append(enc.flush())
    pieces += [dec.push(parts[-1]), dec.flush()]
    for level, ref in enumerate(codes):
        assert np.array_equal(np.concatenate([p[level] for p in parts], axis=1), ref)
    streamed = np.concatenate(pieces, axis=-1)[..., : audio.shape[-1]]
    assert np.abs(streamed - ref_audio).max() <= 1e-5


def test_step_graph_states_are_the_layers_states(make, tmp_path):
    """The decoder step graph carries the ISTFT's overlap-add tail and the causal convs' inputs as states."""
    codec = make(causal=True, upsample=1)
    export_codec(codec, tmp_path)
    names = [i.name for i in onnx.load(str(tmp_path / "decoder_step.onnx")).graph.input]
    assert any(n.endswith("head.istft.partial") for n in names)
    assert any("backbone.blocks.1.dwconv.previous" in n for n in names)
    runner = OnnxCodec(tmp_path)
    tail = [s for s in runner.graph("decoder_step").meta["states"] if s["name"].endswith("istft.partial")]
    assert tail[0]["shape"] == ["batch", 160 - HOP]


def test_centred_vocos_exports_offline_graphs(make, tmp_path):
    codec = make(causal=False, upsample=2)
    paths = export_codec(codec, tmp_path)
    assert sorted(paths) == ["decoder", "encoder"]
    runner = OnnxCodec(tmp_path)
    assert not runner.causal and runner.context_samples > 0
    model = prepare_for_export(codec)
    audio = _audio(1, 37, extra=5)
    with torch.no_grad():
        ref_codes = model.encode(torch.from_numpy(audio))
        ref_audio = model.decode(ref_codes, length=audio.shape[-1]).numpy()
    codes = runner.encode(audio)
    assert all(np.array_equal(c, r.numpy()) for c, r in zip(codes, ref_codes))
    assert np.abs(runner.decode(codes, length=audio.shape[-1]) - ref_audio).max() <= 1e-5
    # overlap-save streaming with the declared context (the receptive field) reproduces offline decoding
    dec = runner.stream_decoder(1, chunk_samples=8 * HOP)
    pieces = [dec.push([c[:, i : i + 5] for c in codes]) for i in range(0, codes[0].shape[1], 5)]
    pieces.append(dec.flush())
    streamed = np.concatenate(pieces, axis=-1)[..., : audio.shape[-1]]
    assert np.abs(streamed - ref_audio).max() <= 1e-5
