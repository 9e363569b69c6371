"""ONNX export: checker, metadata, codes == PyTorch, decoder audio within 1e-4, dynamic batch and length,
streaming step graphs == offline graphs, overlap-save streaming for non-causal codecs, runner errors."""

from __future__ import annotations

import copy

import numpy as np
import onnx
import pytest
import torch
from torch.nn.utils import parametrize

from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.export.exporter import export_codec
from codeckit.export.graphs import prepare_for_export
from codeckit.export.runner import OnnxCodec
from codeckit.nn.noise import NoiseBlock

EXPORTS = ["encodec_tiny", "snac_tiny", "causal_snac", "reflect_seanet"]
CAUSAL = ["encodec_tiny", "causal_snac", "reflect_seanet"]


def _noise(batch: int, samples: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((batch, 1, samples)) * 0.5).astype(np.float32)


def _pair(request, name):
    return request.getfixturevalue(name), request.getfixturevalue(f"{name}_onnx")


def _spans(total: int, sizes: list[int]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < total:
        n = min(sizes[j % len(sizes)], total - i)
        out.append((i, i + n))
        i, j = i + n, j + 1
    return out


@pytest.mark.parametrize("name", EXPORTS)
def test_files_check_and_metadata(name, request):
    codec, out = _pair(request, name)
    causal = name in CAUSAL
    steps = causal or name == "snac_tiny"  # a non-causal SNAC has lookahead step graphs
    graphs = ["encoder", "decoder"] + (["encoder_step", "decoder_step"] if steps else [])
    assert sorted(p.name for p in out.iterdir()) == sorted(md.FILES[g] for g in graphs)
    for g in graphs:
        model = onnx.load(str(out / md.FILES[g]))
        onnx.checker.check_model(model, full_check=True)
        meta = md.loads({p.key: p.value for p in model.metadata_props}[md.KEY], g)
        assert meta["graph"] == g
        decl = meta["codec"]
        assert decl["sample_rate"] == codec.sample_rate
        assert decl["hop_lengths"] == codec.hop_lengths and decl["codebook_sizes"] == codec.codebook_sizes
        assert decl["pad_multiple"] == codec.pad_multiple and decl["causal"] is causal
        assert meta["inputs"] == [i.name for i in model.graph.input]
        assert meta["outputs"] == [o.name for o in model.graph.output]
        if g.endswith("_step"):
            states = meta["states"]
            assert states and all(s["shape"][0] == "batch" for s in states)
            assert {s["input"] for s in states} <= set(meta["inputs"])
            assert meta["streaming"]["chunk_samples"] % codec.pad_multiple == 0


def test_state_spec_matches_layers(encodec_tiny, encodec_tiny_onnx):
    """The metadata names every streaming state of the encoder with the layer's shape and initial value."""
    meta = OnnxCodec(encodec_tiny_onnx).graph("encoder_step").meta
    specs = encodec_tiny.encoder.streaming_state_spec(1)
    assert [s["name"] for s in meta["states"]] == [f"encoder.{s.name}" for s in specs]
    for entry, spec in zip(meta["states"], specs):
        assert entry["shape"][1:] == list(spec.shape[1:])
        assert entry["init"] == "zeros" and not spec.initial.any()


def test_reflect_first_state_declared(reflect_seanet_onnx, reflect_seanet):
    meta = OnnxCodec(reflect_seanet_onnx).graph("encoder_step").meta
    firsts = [s for s in meta["states"] if s["name"].endswith(".first")]
    assert firsts and all(s["dtype"] == "bool" and s["init"] == "ones" for s in firsts)
    assert meta["streaming"]["first_chunk_samples"] > reflect_seanet.pad_multiple


@pytest.mark.parametrize("name", EXPORTS)
def test_onnx_matches_pytorch_dynamic_batch_and_length(name, request):
    codec, out = _pair(request, name)
    runner = OnnxCodec(out)
    model = prepare_for_export(codec)  # noise off, weight norm folded: what the graphs compute
    pm = codec.pad_multiple
    for batch, samples, seed in [(1, 9 * pm, 0), (3, 6 * pm + pm // 2 + 3, 1), (2, 17 * pm - 1, 2)]:
        samples = max(samples, runner.min_samples)
        audio = _noise(batch, samples, seed)
        with torch.no_grad():
            ref = model.encode(torch.from_numpy(audio))
            ref_audio = model.decode(ref).numpy()
        codes = runner.encode(audio)
        assert [c.shape for c in codes] == [tuple(r.shape) for r in ref]
        for c, r in zip(codes, ref):
            assert c.dtype == np.int64
            np.testing.assert_array_equal(c, r.numpy())
        decoded = runner.decode(codes)
        assert decoded.shape == ref_audio.shape
        assert float(np.abs(decoded - ref_audio).max()) <= 1e-4
        assert runner.decode(codes, length=samples).shape[-1] == samples


def test_export_keeps_original_parametrized(encodec_tiny, encodec_tiny_onnx):
    """Folding weight norm works on a copy: the codec keeps its parametrizations (and stays trainable)."""
    assert any(parametrize.is_parametrized(m) for m in encodec_tiny.modules())
    folded = prepare_for_export(encodec_tiny)
    assert not any(parametrize.is_parametrized(m) for m in folded.modules())
    x = torch.from_numpy(_noise(1, 4 * encodec_tiny.pad_multiple, 5))
    with torch.no_grad():
        assert torch.allclose(folded.decode(folded.encode(x)), encodec_tiny.decode(encodec_tiny.encode(x)), atol=1e-5)


def test_prepared_snac_equals_original_without_noise(snac_tiny):
    """The export copy (weight norm folded, FastSnake) computes what the codec computes with its noise off."""
    prepared = prepare_for_export(snac_tiny)
    quiet = copy.deepcopy(snac_tiny)
    for m in quiet.modules():
        if isinstance(m, NoiseBlock):
            m.eval_noise = "off"
    x = torch.from_numpy(_noise(2, 5 * snac_tiny.pad_multiple, 14))
    with torch.no_grad():
        codes = quiet.encode(x)
        for a, b in zip(prepared.encode(x), codes):
            assert torch.equal(a, b)
        assert torch.allclose(prepared.decode(codes), quiet.decode(codes), atol=1e-5)


def test_snac_noise_is_off_in_export(snac_tiny, snac_tiny_onnx):
    """The exported SNAC decoder leaves its NoiseBlocks out: deterministic, and declared so."""
    runner = OnnxCodec(snac_tiny_onnx)
    assert runner.declaration["noise"] == "off"
    codes = runner.encode(_noise(1, 4 * snac_tiny.pad_multiple, 3))
    np.testing.assert_array_equal(runner.decode(codes), runner.decode(codes))
    with torch.no_grad():
        seeded = snac_tiny.decode([torch.from_numpy(c) for c in codes]).numpy()
    assert float(np.abs(runner.decode(codes) - seeded).max()) > 1e-4  # the codec itself still adds noise


@pytest.mark.parametrize("name", CAUSAL)
def test_onnx_streaming_equals_offline(name, request):
    """Step graphs fed chunks of any size (batch of 2) give the offline graphs' codes and audio."""
    codec, out = _pair(request, name)
    runner = OnnxCodec(out)
    audio = _noise(2, 21 * codec.pad_multiple + 5, 4)
    offline = runner.encode(audio)
    offline_audio = runner.decode(offline)
    enc, dec = runner.stream_encoder(2), runner.stream_decoder(2)
    codes, pieces = [], []
    for a, b in _spans(audio.shape[-1], [codec.pad_multiple // 2 + 1, 3 * codec.pad_multiple, 7]):
        c = enc.push(audio[..., a:b])
        codes.append(c)
        pieces.append(dec.push(c))
    codes.append(enc.flush())
    pieces += [dec.push(codes[-1]), dec.flush()]
    for level, off in enumerate(offline):
        np.testing.assert_array_equal(np.concatenate([c[level] for c in codes], axis=1), off)
    streamed = np.concatenate(pieces, axis=-1)
    assert streamed.shape == offline_audio.shape
    assert float(np.abs(streamed - offline_audio).max()) <= 1e-5


def test_onnx_streaming_equals_pytorch_streaming(encodec_tiny, encodec_tiny_onnx):
    runner = OnnxCodec(encodec_tiny_onnx)
    pm = encodec_tiny.pad_multiple
    audio = _noise(1, 6 * pm, 6)
    enc = runner.stream_encoder(1)
    onnx_codes = [enc.push(audio[..., i : i + 2 * pm]) for i in range(0, 6 * pm, 2 * pm)]
    with torch.no_grad(), encodec_tiny.streaming(1):
        torch_codes = [
            encodec_tiny.encode(torch.from_numpy(audio[..., i : i + 2 * pm])) for i in range(0, 6 * pm, 2 * pm)
        ]
    for o, t in zip(onnx_codes, torch_codes):
        for a, b in zip(o, t):
            np.testing.assert_array_equal(a, b.numpy())


def test_stream_reset_one_stream(encodec_tiny_onnx):
    runner = OnnxCodec(encodec_tiny_onnx)
    pm = runner.pad_multiple
    a, b = _noise(1, 6 * pm, 7), _noise(1, 4 * pm, 8)
    enc = runner.stream_encoder(2)
    first = enc.push(np.concatenate([a[..., : 2 * pm], _noise(1, 2 * pm, 9)]))
    enc.reset([1])
    second = enc.push(np.concatenate([a[..., 2 * pm :], b]))
    ref_a, ref_b = runner.encode(a), runner.encode(b)
    for level in range(runner.n_levels):
        np.testing.assert_array_equal(np.concatenate([first[level][0], second[level][0]]), ref_a[level][0])
        np.testing.assert_array_equal(second[level][1], ref_b[level][0])
    enc.push(_noise(2, pm // 2, 13))
    with pytest.raises(ExportError, match="between steps"):
        enc.reset([0])


def test_reflect_stream_waits_for_first_chunk(reflect_seanet_onnx):
    runner = OnnxCodec(reflect_seanet_onnx)
    enc = runner.stream_encoder(1)
    first = enc.first
    assert first > runner.pad_multiple
    audio = _noise(1, 3 * first, 10)
    assert enc.push(audio[..., : first - runner.pad_multiple])[0].shape[1] == 0  # not enough yet
    assert enc.push(audio[..., first - runner.pad_multiple : first])[0].shape[1] > 0
    with pytest.raises(ExportError, match="shorter"):
        s = runner.stream_encoder(1)
        s.push(audio[..., : runner.pad_multiple])
        s.flush()


def test_overlap_streaming_non_causal(snac_tiny, snac_tiny_onnx):
    """SNAC streams by overlap-save; with the declared context (its receptive field) it matches offline."""
    runner = OnnxCodec(snac_tiny_onnx)
    pm = snac_tiny.pad_multiple
    assert runner.context_samples > 0 and runner.context_samples % pm == 0
    audio = _noise(2, 9 * pm + 100, 11)
    offline = runner.encode(audio)
    offline_audio = runner.decode(offline)
    results = {}
    full = runner.context_samples  # asked for explicitly: without it the runner streams by its lookahead graphs
    for context in (full, 0):
        enc = runner.stream_encoder(2, chunk_samples=pm, context_samples=context)
        dec = runner.stream_decoder(2, chunk_samples=2 * pm, context_samples=context)
        codes, pieces = [], []
        for a, b in _spans(audio.shape[-1], [pm + 17, 3 * pm]):
            codes.append(enc.push(audio[..., a:b]))
            pieces.append(dec.push(codes[-1]))
        codes.append(enc.flush())
        pieces += [dec.push(codes[-1]), dec.flush()]
        streamed = [np.concatenate([c[level] for c in codes], axis=1) for level in range(runner.n_levels)]
        results[context] = (streamed, np.concatenate(pieces, axis=-1))
    codes, decoded = results[full]
    for s, o in zip(codes, offline):
        np.testing.assert_array_equal(s, o)
    assert float(np.abs(decoded - offline_audio).max()) <= 1e-5
    # without context each chunk is coded alone: it runs, with the same shapes, but differs
    codes0, decoded0 = results[0]
    assert [c.shape for c in codes0] == [c.shape for c in offline] and decoded0.shape == offline_audio.shape
    assert float(np.abs(decoded0 - offline_audio).max()) > 1e-3


def test_runner_rejects_bad_input(encodec_tiny_onnx):
    runner = OnnxCodec(encodec_tiny_onnx)
    pm = runner.pad_multiple
    with pytest.raises(ExportError, match="audio must be"):
        runner.encode(np.zeros((1, 2, pm), np.float32))
    with pytest.raises(ExportError, match="float"):
        runner.encode(np.zeros((1, 1, pm), np.int16))
    codes = runner.encode(_noise(1, 2 * pm, 12))
    with pytest.raises(ExportError, match="lie in"):
        runner.decode([c + runner.codebook_sizes[0] for c in codes])
    with pytest.raises(ExportError, match="list of"):
        runner.decode(codes[:1])
    with pytest.raises(ExportError, match="chunk_samples"):
        runner.stream_encoder(1, chunk_samples=pm + 1)
    with pytest.raises(ExportError, match="no context"):
        runner.stream_decoder(1, context_samples=pm)
    with pytest.raises(ExportError, match="threads"):
        OnnxCodec(encodec_tiny_onnx, threads=0)


def test_runner_missing_dir(tmp_path):
    with pytest.raises(ExportError, match="codeckit export"):
        OnnxCodec(tmp_path)


def test_export_rejects_bad_options(encodec_tiny, tmp_path):
    with pytest.raises(ExportError, match="chunk_frames"):
        export_codec(encodec_tiny, tmp_path, chunk_frames=0)
    with pytest.raises(ExportError, match="n_quantizers"):
        export_codec(encodec_tiny, tmp_path, n_quantizers=9)
    assert not list(tmp_path.iterdir())
