"""Streaming state: chunked == offline for causal layers and the causal EnCodec configs; reset, state API."""

from __future__ import annotations

import pytest
import torch

from codeckit.codecs import build_codec
from codeckit.configs import model_config
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.lstm import StreamableLSTM
from codeckit.nn.seanet import SEANetDecoder, SEANetEncoder
from codeckit.nn.streaming import (
    StreamingError,
    get_streaming_state,
    reset_streaming,
    set_streaming_state,
    streaming,
    streaming_state_spec,
    streams_exactly,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _chunks(total: int, sizes: list[int]) -> list[tuple[int, int]]:
    """Consecutive (start, end) spans cycling through `sizes` until `total`."""
    out, i, j = [], 0, 0
    while i < total:
        n = min(sizes[j % len(sizes)], total - i)
        out.append((i, i + n))
        i, j = i + n, j + 1
    return out


def _run_chunked(module, x, spans):
    with streaming(module, x.shape[0]):
        return torch.cat([module(x[..., a:b]) for a, b in spans], dim=-1)


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
@pytest.mark.parametrize("kernel,stride,dilation", [(7, 1, 1), (3, 1, 4), (4, 2, 1), (10, 5, 1), (1, 1, 1)])
def test_conv_stream_equals_offline(kernel, stride, dilation, pad_mode):
    torch.manual_seed(0)
    conv = StreamableConv1d(3, 4, kernel, stride=stride, dilation=dilation, causal=True, pad_mode=pad_mode)
    x = torch.randn(2, 3, stride * 30)
    first = stride * 10  # a reflect-padded conv needs a first chunk longer than its padding
    spans = [(0, first)] + [(a + first, b + first) for a, b in _chunks(x.shape[-1] - first, [stride, 3 * stride])]
    assert torch.allclose(_run_chunked(conv, x, spans), conv(x), atol=1e-6)


@pytest.mark.parametrize("kernel,stride", [(16, 8), (10, 5), (4, 2), (3, 1), (2, 2)])
def test_transposed_stream_equals_offline(kernel, stride):
    torch.manual_seed(0)
    conv = StreamableConvTranspose1d(3, 4, kernel, stride=stride, causal=True, norm="weight_norm")
    x = torch.randn(2, 3, 17)
    assert torch.allclose(_run_chunked(conv, x, _chunks(17, [1, 2, 5])), conv(x), atol=1e-6)


def test_lstm_stream_equals_offline():
    torch.manual_seed(0)
    lstm = StreamableLSTM(6, num_layers=2)
    x = torch.randn(3, 6, 23)
    assert torch.allclose(_run_chunked(lstm, x, _chunks(23, [1, 4, 7])), lstm(x), atol=1e-6)


def test_seanet_stream_equals_offline_one_hop_chunks():
    torch.manual_seed(0)
    kw = dict(dimension=16, n_filters=4, ratios=[4, 2], lstm=1, causal=True, pad_mode="zeros")
    enc, dec = SEANetEncoder(**kw), SEANetDecoder(**kw)
    x = torch.randn(2, 1, 8 * 13)
    with torch.no_grad():
        z = enc(x)
        assert torch.allclose(_run_chunked(enc, x, _chunks(x.shape[-1], [8, 16, 24])), z, atol=1e-5)
        assert torch.allclose(_run_chunked(dec, z, _chunks(13, [1, 3])), dec(z), atol=1e-5)


def _codec_stream(codec, audio, spans, n_q=None):
    hop = codec.hop_length
    codes, out = [], []
    with codec.streaming(audio.shape[0]):
        for a, b in spans:
            c = codec.encode(audio[..., a * hop : b * hop], n_quantizers=n_q)
            codes.append(c)
            out.append(codec.decode(c))
    return [torch.cat(level, -1) for level in zip(*codes)], torch.cat(out, -1)


@pytest.mark.parametrize("name,first", [("encodec_tiny", 1), ("encodec_24khz", 7)])
def test_causal_encodec_codec_streams_exactly(name, first):
    """Chunks of whole hops (encodec_24khz's reflect padding needs a first chunk of 7 hops) give the
    offline codes and audio."""
    torch.manual_seed(0)
    codec = build_codec(model_config(name)["model"]).eval()
    frames = first + 6
    audio = 0.3 * torch.randn(2, 1, codec.hop_length * frames)
    spans = [(0, first)] + [(a + first, b + first) for a, b in _chunks(frames - first, [1, 2, 3])]
    with torch.no_grad():
        ref_codes = codec.encode(audio, n_quantizers=4)
        ref_audio = codec.decode(ref_codes)
        codes, out = _codec_stream(codec, audio, spans, n_q=4)
    assert all(torch.equal(a, b) for a, b in zip(codes, ref_codes))
    assert (out - ref_audio).abs().max().item() < 1e-5


def test_reset_one_stream_restarts_it_alone():
    torch.manual_seed(0)
    codec = build_codec(model_config("encodec_tiny")["model"]).eval()
    hop = codec.hop_length
    a, b = 0.3 * torch.randn(2, 1, hop * 4), 0.3 * torch.randn(1, 1, hop * 2)
    with torch.no_grad(), codec.streaming(2):
        codec.decode(codec.encode(a[..., : 2 * hop]))
        codec.reset_streaming([1])
        x = torch.cat([a[:1, :, 2 * hop :], b], dim=0)
        y = codec.decode(codec.encode(x))
    with torch.no_grad():
        whole_a = codec.decode(codec.encode(a[:1]))
        fresh_b = codec.decode(codec.encode(b))
    assert torch.allclose(y[1:], fresh_b, atol=1e-5)  # stream 1 starts over
    assert torch.allclose(y[:1], whole_a[..., 2 * hop :], atol=1e-5)  # stream 0 goes on


def test_state_api_names_shapes_and_round_trip():
    kw = dict(dimension=8, n_filters=2, ratios=[2], lstm=1, causal=True, pad_mode="reflect")
    enc = SEANetEncoder(**kw)
    specs = {s.name: s for s in streaming_state_spec(enc, batch_size=3)}
    assert specs["layers.0.previous"].shape == (3, 1, 6)  # k7 stride 1: the last 6 inputs
    assert specs["layers.0.first"].dtype == torch.bool and specs["layers.0.first"].initial.all()
    assert specs["layers.3.previous"].shape == (3, 2, 2)  # k4 stride 2
    assert specs["layers.4.h"].shape == (3, 1, 4) and not specs["layers.4.c"].initial.any()
    assert not any(".shortcut." in n for n in specs)  # 1x1 convs hold no state
    x = torch.randn(3, 1, 24)
    with torch.no_grad(), streaming(enc, 3):
        enc(x[..., :16])  # 8 latent frames: more than the last reflect-padded conv's 6
        saved = {k: v.clone() for k, v in get_streaming_state(enc).items()}
        assert set(saved) == set(specs)
        y1 = enc(x[..., 16:])
        set_streaming_state(enc, saved)
        assert torch.equal(enc(x[..., 16:]), y1)
        with pytest.raises(StreamingError, match="layers.0.previous"):
            set_streaming_state(enc, {**saved, "layers.0.previous": torch.zeros(3, 1, 5)})
        reset_streaming(enc)
        assert get_streaming_state(enc)["layers.0.first"].all()


def test_streaming_errors():
    with pytest.raises(StreamingError, match="non-causal"):
        with streaming(StreamableConv1d(1, 1, 3), 1):
            pass
    with pytest.raises(StreamingError, match="non-causal"):
        with streaming(StreamableConvTranspose1d(1, 1, 4, stride=2), 1):
            pass
    conv = StreamableConv1d(1, 1, 4, stride=2, causal=True)
    with streaming(conv, 1), pytest.raises(StreamingError, match="multiple of the stride 2"):
        conv(torch.randn(1, 1, 3))
    conv = StreamableConv1d(1, 1, 7, causal=True, pad_mode="reflect")
    with streaming(conv, 1), pytest.raises(StreamingError, match="longer than 6"):
        conv(torch.randn(1, 1, 4))
    with streaming(conv, 2), pytest.raises(StreamingError, match="2 streams"):
        conv(torch.randn(1, 1, 8))
    assert conv.streaming_state is None  # the context turned streaming off again
    with pytest.raises(StreamingError, match="not streaming"):
        conv.reset_streaming()


def test_streams_exactly_needs_causal_streaming_layers_and_nothing_else_with_context():
    causal = SEANetEncoder(dimension=8, n_filters=2, ratios=[2, 2], lstm=1, causal=True, pad_mode="zeros")
    assert streams_exactly(causal)
    assert not streams_exactly(SEANetEncoder(dimension=8, n_filters=2, ratios=[2, 2], lstm=1, causal=False))
    assert not streams_exactly(torch.nn.Linear(2, 2))  # no streaming layer at all
    assert not streams_exactly(torch.nn.Sequential(causal, torch.nn.Conv1d(8, 8, 3)))  # a plain conv sees the future
    assert not streams_exactly(torch.nn.Sequential(causal, torch.nn.GRU(8, 8)))  # a plain RNN's state is not carried
    assert streams_exactly(torch.nn.Sequential(causal, torch.nn.Conv1d(8, 8, 1)))  # 1x1: no temporal context


def test_every_stateful_layer_checks_the_chunk_batch():
    layers = [StreamableConv1d(2, 2, 3, causal=True), StreamableConvTranspose1d(2, 2, 4, stride=2, causal=True)]
    layers.append(StreamableLSTM(2, num_layers=1))
    for layer in layers:
        with streaming(layer, 3), pytest.raises(StreamingError, match="holds 3 streams, chunk has batch 2"):
            layer(torch.randn(2, 2, 4))
