"""fp16 and int8 variants of an export (`codeckit.export.precision`, `codeckit export --precision`), and the
leaderboard's `onnx:DIR` spec that scores them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import soundfile as sf
import torch

from codeckit.bench.codecs import open_codec
from codeckit.bench.onnx_codec import OnnxRunner
from codeckit.bench.specs import SpecError, parse_spec
from codeckit.cli import main
from codeckit.codecs import save_codec
from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.export.precision import compare_precision, convert_precision, export_precision, read_calibration
from codeckit.export.runner import OnnxCodec


@pytest.fixture(scope="module")
def vocos_onnx(export_onnx, make_codec, tiny_vocos):
    """A causal tiny vocos (MatMul layers, step graphs), exported in fp32."""
    return export_onnx("vocos_fp32", make_codec(tiny_vocos(True, 1, phase=True)))


def _audio(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(t.shape) * 0.05
    return (0.3 * np.sin(2 * np.pi * 220 * t) + noise).astype(np.float32)[None]


def _ops(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_convert_keeps_interface_and_declares_precision(vocos_onnx, tmp_path, precision):
    paths = convert_precision(vocos_onnx, tmp_path, precision)
    assert sorted(paths) == ["decoder", "decoder_step", "encoder", "encoder_step"]
    ref, low = OnnxCodec(vocos_onnx), OnnxCodec(tmp_path)
    for g in paths:
        assert [i.name for i in low.graph(g).session.get_inputs()] == ref.graph(g).meta["inputs"]
        assert low.graph(g).meta["precision"] == precision
    if precision == "int8":
        assert (
            "DynamicQuantizeLinear" in _ops(paths["decoder"])
            and export_precision(tmp_path)["decoder"] == "int8 dynamic"
        )
    else:
        assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in onnx.load(str(paths["decoder"])).graph.initializer)
    audio = _audio(0.5, ref.sample_rate)
    near = compare_precision(vocos_onnx, tmp_path, [audio])
    assert near["codes_equal"] > 0.5 and near["decoder_snr_db"] > 15
    # the streams run the converted step graphs unchanged
    enc, dec = low.stream_encoder(1), low.stream_decoder(1)
    out = np.concatenate([dec.push(enc.push(audio[None])), dec.push(enc.flush()), dec.flush()], axis=-1)
    assert out.shape[-1] >= audio.shape[-1] and np.isfinite(out).all()


def test_int8_static_calibrates_and_keep_float(vocos_onnx, tmp_path):
    rate = OnnxCodec(vocos_onnx).sample_rate
    calibration = [_audio(0.4, rate, seed) for seed in range(2)]
    paths = convert_precision(vocos_onnx, tmp_path, "int8", "static", calibration, keep_float=["head"])
    assert "QuantizeLinear" in _ops(paths["decoder"]) and "QuantizeLinear" in _ops(paths["encoder"])
    assert export_precision(tmp_path) == {
        "encoder": "int8 static",
        "decoder": "int8 static",
        "encoder_step": "int8 dynamic",
        "decoder_step": "int8 dynamic",
    }
    head = [n for n in onnx.load(str(paths["decoder"])).graph.node if "head" in n.name and n.op_type == "MatMul"]
    assert head and all(not n.input[1].endswith("_quantized") for n in head)


def test_bad_options_raise(vocos_onnx, tmp_path):
    with pytest.raises(ExportError, match="precision must be"):
        convert_precision(vocos_onnx, tmp_path, "int4")
    with pytest.raises(ExportError, match="calibration"):
        convert_precision(vocos_onnx, tmp_path, "int8", "static")
    with pytest.raises(ExportError, match="another directory"):
        convert_precision(vocos_onnx, vocos_onnx, "fp16")
    with pytest.raises(ExportError, match="no exported graphs"):
        convert_precision(tmp_path, tmp_path / "out", "fp16")
    with pytest.raises(ExportError, match="no calibration audio"):
        read_calibration([str(tmp_path)], 16000, 1)


def test_read_calibration_from_scp(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, _audio(0.2, 8000)[0], 8000)
    (tmp_path / "wav.scp").write_text(f"a {wav}\n")
    (audio,) = read_calibration([str(tmp_path / "wav.scp")], 16000, 2)
    assert audio.shape == (2, 3200) and audio.dtype == np.float32


def test_export_command_precision_and_leaderboard_spec(make_codec, tiny_vocos, tmp_path, capsys):
    model_dir = save_codec(make_codec(tiny_vocos(True, 1, phase=True)), tmp_path / "model")
    assert main(["export", str(model_dir), "--precision", "int8", "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "int8 vs fp32:" in out and (model_dir / "onnx_int8" / md.FILES["decoder"]).is_file()
    assert not (model_dir / "onnx").exists()  # the fp32 graphs were a temporary step
    entry = parse_spec(f"onnx:{model_dir / 'onnx_int8'}")
    assert entry.kind == "onnx" and entry.name == "onnx_int8-int8-dynamic"
    runner = open_codec(entry, 16000)
    assert isinstance(runner, OnnxRunner)
    audio = torch.from_numpy(_audio(0.3, runner.sample_rate))
    run = runner.run(audio)
    assert run.decoded.shape == audio.shape and run.bits > 0 and len(run.tokens) == len(runner.codebook_sizes)
    with pytest.raises(SpecError, match="no encoder.onnx"):
        parse_spec(f"onnx:{tmp_path}")
