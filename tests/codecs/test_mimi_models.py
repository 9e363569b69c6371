"""The Mimi parts on their own (no reference package): a tiny Mimi codec trains a step, streams exactly in
uneven chunks, honours the attention context window, and its split RVQ picks levels as Mimi does."""

from __future__ import annotations

import pytest
import torch
from mimi_sizes import toy_mimi_config

from codeckit.codecs import build_codec
from codeckit.convert.mimi import mimi_config, mimi_model_config
from codeckit.nn.conv import StreamableConv1d
from codeckit.nn.streaming import streaming
from codeckit.nn.transformer import CausalSelfAttention
from codeckit.quantizers import QuantizerError

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(n_levels: int = 4):
    """Hop 80 -> 150 Hz codes at 24 kHz, transformers with an 8-frame context."""
    cfg = toy_mimi_config(16, n_levels, 32, d_model=16, num_heads=2, num_layers=1, context=8, dim_feedforward=32)
    torch.manual_seed(0)
    return build_codec(mimi_model_config(mimi_config(cfg), n_levels))


def test_forward_backward():
    codec = _tiny().train()
    audio = 0.3 * torch.randn(2, 1, 160 * 6 - 5)
    out = codec(audio)
    assert out.audio.shape == audio.shape and [c.shape for c in out.codes] == [(2, 6)] * 4
    (out.audio - audio).abs().mean().add(sum(out.losses.values())).backward()
    first = codec.encoder.seanet.layers[0].conv.weight
    assert first.grad is not None and torch.isfinite(first.grad).all() and first.grad.abs().sum() > 0
    assert codec.encoder.transformer.layers[0].attn.in_proj.weight.grad.abs().sum() > 0


def test_streaming_equals_offline_and_one_stream_restarts():
    codec = _tiny().eval()
    audio = 0.3 * torch.randn(2, 1, 160 * 24)
    chunks = [1, 2, 5, 16]  # in hops; 48 transformer frames, well past the 8-frame context
    with torch.no_grad():
        codes = codec.encode(audio)
        offline = codec.decode(codes)
        got, start = [], 0
        with codec.streaming(2):
            for n in chunks:
                got.append(codec.encode(audio[..., start * 160 : (start + n) * 160]))
                start += n
            codec.reset_streaming([1])
            again = codec.encode(audio[1:2, :, :320].expand(2, -1, -1))
        pieces, start = [], 0
        with codec.streaming(2):
            for n in chunks:
                pieces.append(codec.decode([c[:, start : start + n] for c in codes]))
                start += n
    assert all(torch.equal(torch.cat([g[i] for g in got], 1), codes[i]) for i in range(4))
    assert (torch.cat(pieces, -1) - offline).abs().max().item() <= 1e-5
    assert all(torch.equal(a[1], b[1, :2]) for a, b in zip(again, codes))  # stream 1 started over


def test_attention_sees_only_its_context():
    torch.manual_seed(0)
    attn = CausalSelfAttention(16, 2, context=4).eval()
    x = torch.randn(1, 12, 16)
    y = x.clone()
    y[:, :5] = torch.randn(1, 5, 16)  # frames 0..4: outside the window of frames >= 8
    with torch.no_grad():
        a, b = attn(x), attn(y)
    assert torch.allclose(a[:, 8:], b[:, 8:], atol=1e-6) and not torch.allclose(a[:, 5:8], b[:, 5:8])


def test_replicate_conv_streams_from_its_first_frame():
    torch.manual_seed(0)
    conv = StreamableConv1d(3, 3, 4, stride=2, bias=False, causal=True, pad_mode="replicate")
    x = torch.randn(2, 3, 12)
    with torch.no_grad():
        offline = conv(x)
        with streaming(conv, 2):
            streamed = torch.cat([conv(x[..., :2]), conv(x[..., 2:8]), conv(x[..., 8:])], -1)
    assert offline.shape == (2, 3, 6) and torch.allclose(streamed, offline, atol=1e-6)


def test_split_rvq_levels():
    q = _tiny().quantizer.eval()
    z = torch.randn(2, 16, 5)
    with torch.no_grad():
        full = q.encode(z)
        two = q.encode(z, n_quantizers=2)
        semantic = q.decode(full[:1])
    assert len(full) == 4 and all(torch.equal(a, b) for a, b in zip(two, full))
    assert torch.allclose(semantic, q.semantic.out_proj(q.semantic.rvq.decode(full[:1])))
    assert q.codebook_sizes == [32] * 4 and q.strides == [1] * 4
    with pytest.raises(QuantizerError, match="n_quantizers must be in 1..4"):
        q.encode(z, n_quantizers=0)


def test_onnx_decode_equals_pytorch_decode(tmp_path):
    """The split quantizer exports (its two residual stacks' decoded sums add in the graph): the ONNX encoder gives
    PyTorch's codes and the ONNX decoder PyTorch's audio."""
    from codeckit.export.exporter import export_codec
    from codeckit.export.graphs import prepare_for_export
    from codeckit.export.runner import OnnxCodec

    codec = _tiny().eval()
    export_codec(codec, tmp_path / "onnx")
    runner = OnnxCodec(tmp_path / "onnx", threads=1)
    audio = 0.3 * torch.randn(2, 1, 160 * 9 + 7)
    model = prepare_for_export(codec)
    with torch.no_grad():
        codes = model.encode(audio)
        ref = model.decode(codes).numpy()
    assert all((got == c.numpy()).all() for got, c in zip(runner.encode(audio.numpy()), codes))
    assert abs(runner.decode([c.numpy() for c in codes]) - ref).max() <= 1e-4
