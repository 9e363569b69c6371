"""The ONNX runner (`codeckit.export.runner.OnnxCodec`) at the edge: wrong shapes, dtypes and lengths, wrong
streaming states, damaged graph files, chunks of one hop and of a minute; and `codeckit export` options.
Every refusal is one ExportError line; the streams stay exact for any chunking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from robustness_helpers import CAUSAL_MINI, assert_clean_error, cli, fuzz, make_model_dir

from codeckit.codecs import load_codec
from codeckit.export.errors import ExportError
from codeckit.export.runner import OnnxCodec


@pytest.fixture(scope="module")
def mini_dir(tmp_path_factory):
    return make_model_dir(tmp_path_factory.mktemp("mini") / "model", config=CAUSAL_MINI)


@pytest.fixture(scope="module")
def exported(mini_dir, tmp_path_factory):
    import torch

    from codeckit.export.exporter import export_codec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("mini_onnx")
        export_codec(load_codec(mini_dir), out)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def runner(exported):
    return OnnxCodec(exported)


def _audio(n: int, batch: int = 1, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((batch, 1, n)) * 0.1).astype(np.float32)


ENCODE_CASES = {
    # id: (audio, None when it encodes, else words)
    "float32": (_audio(400), None),
    "float64": (_audio(400).astype(np.float64), None),
    "1d": (_audio(400)[0, 0], None),
    "2d": (_audio(400)[0], None),
    "int16": ((_audio(400) * 30000).astype(np.int16), ["float array"]),
    "zero_length": (np.zeros((1, 1, 0), np.float32), ["shorter than"]),
    "two_channels": (np.zeros((1, 2, 400), np.float32), ["(batch, 1, samples)"]),
    "four_dims": (np.zeros((1, 1, 1, 400), np.float32), ["(batch, 1, samples)"]),
    "nan": (np.full((1, 1, 400), np.nan, np.float32), ["NaN"]),
    "strings": (np.array(["a", "b"]), ["float array"]),
}


@pytest.mark.parametrize("case", list(ENCODE_CASES))
def test_encode_inputs(runner, case):
    audio, words = ENCODE_CASES[case]
    if words is None:
        codes = runner.encode(audio)
        assert len(codes) == runner.n_levels and all(c.dtype == np.int64 for c in codes)
        return
    with pytest.raises(ExportError) as info:
        runner.encode(audio)
    assert all(w.lower() in str(info.value).lower() for w in words), str(info.value)


def _codes(frames: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 16, (1, frames)) for _ in range(2)]


DECODE_CASES = {
    "valid": (_codes(100), None),
    "int32": ([c.astype(np.int32) for c in _codes(100)], None),
    "one_level": (_codes(100)[:1], ["list of 2 code arrays"]),
    "three_levels": (_codes(100) + _codes(100)[:1], ["list of 2 code arrays"]),
    "float": ([c.astype(np.float32) for c in _codes(100)], ["integer"]),
    "1d": ([c[0] for c in _codes(100)], ["(batch, frames)"]),
    "out_of_range": ([_codes(100)[0], _codes(100)[1] + 16], ["[0, 16)"]),
    "negative": ([_codes(100)[0] - 1, _codes(100)[1]], ["[0, 16)"]),
    "zero_frames": (_codes(0), ["fewer than"]),
    "spans_disagree": ([_codes(100)[0], _codes(99)[1]], ["does not cover"]),
    "batch_disagree": ([_codes(100)[0], np.repeat(_codes(100)[1], 2, 0)], ["batch"]),
    "not_a_list": (np.zeros((2, 1, 10), np.int64), ["list of 2 code arrays"]),
}


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_decode_inputs(runner, case):
    codes, words = DECODE_CASES[case]
    if words is None:
        audio = runner.decode(codes)
        assert audio.shape == (1, 1, 400) and np.isfinite(audio).all()
        return
    with pytest.raises(ExportError) as info:
        runner.decode(codes)
    assert all(w.lower() in str(info.value).lower() for w in words), str(info.value)


def test_n_quantizers_out_of_range(runner):
    with pytest.raises(ExportError, match="n_quantizers"):
        runner.encode(_audio(400), n_quantizers=3)


@fuzz(15)
@given(
    audio=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int16, np.int64]),
        shape=st.one_of(
            hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=300),
            st.tuples(st.integers(1, 2), st.integers(0, 2), st.integers(0, 300)),
            hnp.array_shapes(min_dims=2, max_dims=4, min_side=0, max_side=4),
        ),
    )
)
def test_any_array_encodes_or_raises_export_error(runner, audio):
    try:
        codes = runner.encode(audio)
    except ExportError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert all(c.dtype == np.int64 and c.min() >= 0 and c.max() < 16 for c in codes if c.size)


# -- streaming --------------------------------------------------------------------------------------------
def test_stream_chunks_of_one_hop_equal_offline(runner):
    audio = _audio(4 * 150, seed=1)
    offline = runner.encode(audio)
    enc = runner.stream_encoder()
    hop = runner.hop_lengths[-1]
    pieces = [enc.push(audio[..., i : i + hop]) for i in range(0, audio.shape[-1], hop)] + [enc.flush()]
    streamed = [np.concatenate([p[level] for p in pieces], axis=1) for level in range(runner.n_levels)]
    assert all(np.array_equal(a, b) for a, b in zip(streamed, offline))
    dec = runner.stream_decoder()
    frames = offline[0].shape[1]
    out = [dec.push([c[:, i : i + 1] for c in offline]) for i in range(frames)] + [dec.flush()]
    assert np.allclose(np.concatenate(out, axis=-1), runner.decode(offline), atol=1e-5)


def test_stream_a_minute_in_one_push(runner):
    sr = runner.sample_rate
    audio = _audio(60 * sr, seed=2)
    enc = runner.stream_encoder()
    first = enc.push(audio)
    rest = enc.flush()
    codes = [np.concatenate([a, b], axis=1) for a, b in zip(first, rest)]
    offline = runner.encode(audio)
    assert all(np.array_equal(a, b) for a, b in zip(codes, offline))
    dec = runner.stream_decoder()
    out = np.concatenate([dec.push(codes), dec.flush()], axis=-1)
    assert out.shape == (1, 1, 60 * sr) and np.isfinite(out).all()


STATE_CASES = ["wrong_shape", "wrong_rank", "wrong_dtype", "wrong_batch", "not_an_array", "missing"]


@pytest.mark.parametrize("part", ["encoder", "decoder"])
@pytest.mark.parametrize("case", STATE_CASES)
def test_wrong_streaming_state_is_named(runner, part, case):
    stream = runner.stream_encoder() if part == "encoder" else runner.stream_decoder()
    name = stream.specs[0]["input"]
    s = stream.states[name]
    if case == "wrong_shape":
        stream.states[name] = np.zeros((*s.shape[:-1], s.shape[-1] + 3), s.dtype)
    elif case == "wrong_rank":
        stream.states[name] = np.zeros(s.shape[:-1], s.dtype)
    elif case == "wrong_dtype":
        stream.states[name] = s.astype(np.float64)
    elif case == "wrong_batch":
        stream.states[name] = np.repeat(s, 2, axis=0)
    elif case == "not_an_array":
        stream.states[name] = s.tolist()
    else:
        del stream.states[name]
    with pytest.raises(ExportError) as info:
        if part == "encoder":
            stream.push(_audio(400))
        else:
            stream.push(_codes(100))
        stream.flush()  # runs what is pending, if the push did not run a step yet
    assert stream.specs[0]["name"] in str(info.value), str(info.value)


def test_stream_wrong_batch_and_chunk(runner):
    with pytest.raises(ExportError, match=r"\(1, 1, samples\)"):
        runner.stream_encoder(batch=1).push(_audio(40, batch=2))
    with pytest.raises(ExportError, match="positive multiple"):
        runner.stream_encoder(chunk_samples=3)
    with pytest.raises(ExportError, match="batch must be >= 1"):
        runner.stream_encoder(batch=0)
    with pytest.raises(ExportError, match="no context"):
        runner.stream_decoder(context_samples=8)


# -- damaged export directories ---------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated", "empty", "no_metadata"])
def test_damaged_graph_files(exported, tmp_path, damage):
    import shutil

    d = tmp_path / "onnx"
    shutil.copytree(exported, d)
    enc = d / "encoder.onnx"
    if damage == "missing":
        for f in d.glob("*.onnx"):
            f.unlink()
    elif damage == "garbage":
        enc.write_bytes(b"\x08\x07garbage" * 100)
    elif damage == "truncated":
        enc.write_bytes(enc.read_bytes()[: enc.stat().st_size // 2])
    elif damage == "empty":
        enc.write_bytes(b"")
    else:
        import onnx

        model = onnx.load(str(enc))
        del model.metadata_props[:]
        onnx.save(model, str(enc))
    with pytest.raises(ExportError) as info:
        OnnxCodec(d).encode(_audio(400))
    msg = str(info.value)
    assert ("encoder.onnx" in msg or "run 'codeckit export'" in msg) and "\n" not in msg, msg


# -- codeckit export --------------------------------------------------------------------------------------
EXPORT_CASES = {
    "missing_model": (lambda d, t: ["export", t / "nope"], ["not found"]),
    "n_quantizers_zero": (lambda d, t: ["export", d, "--out", t / "o", "--n-quantizers", "0"], ["n_quantizers"]),
    "n_quantizers_big": (lambda d, t: ["export", d, "--out", t / "o", "--n-quantizers", "9"], ["n_quantizers"]),
    "chunk_frames_negative": (lambda d, t: ["export", d, "--out", t / "o", "--chunk-frames", "-2"], ["chunk_frames"]),
    "opset_unsupported": (lambda d, t: ["export", d, "--out", t / "o", "--opset", "2", "--no-verify"], ["opset 2"]),
    "out_is_a_file": (lambda d, t: ["export", d, "--out", t / "file", "--no-verify"], ["is a file"]),
}


@pytest.mark.parametrize("case", list(EXPORT_CASES))
def test_export_cli_errors(capsys, mini_dir, tmp_path, case):
    (tmp_path / "file").write_text("x")
    argv, words = EXPORT_CASES[case]
    o = cli(capsys, *argv(mini_dir, tmp_path))
    assert_clean_error(o, *words)
    assert not list((tmp_path / "o").glob("*.onnx")) if (tmp_path / "o").exists() else True
    assert not list(tmp_path.rglob("*.tmp*"))
