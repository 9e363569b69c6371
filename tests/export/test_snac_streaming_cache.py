"""Lookahead streaming of non-causal SNAC stacks: each layer caches its context; the stream equals offline, late
by the declared delay (PyTorch stacks and the exported lookahead step graphs through the runner)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeckit.export.errors import ExportError
from codeckit.export.graphs import prepare_for_export
from codeckit.export.runner import LookaheadDecoderStream, LookaheadEncoderStream, OnnxCodec
from codeckit.nn.lookahead import NO_END, lookahead_stack
from codeckit.nn.streaming import StreamingError, get_streaming_state, streaming

# non-causal, with local attention at both bottlenecks (window 4) and a 3-level multi-scale RVQ
LOOKAHEAD_SNAC = {
    "sample_rate": 16000,
    "encoder": {"name": "snac", "dim": 16, "rates": [2, 4], "depthwise": True, "attn_window": 4},
    "quantizer": {
        "name": "multiscale_rvq",
        "strides": [4, 2, 1],
        "level": {"name": "vq", "dim": 64, "codebook_size": 64, "codebook_dim": 4, "l2_normalize": True},
    },
    "decoder": {"name": "snac", "latent_dim": 64, "dim": 64, "rates": [4, 2], "depthwise": True, "attn_window": 4},
}


@pytest.fixture(scope="module")
def model(make_codec):
    """LOOKAHEAD_SNAC prepared for export (weight norm folded, NoiseBlocks off)."""
    return prepare_for_export(make_codec(LOOKAHEAD_SNAC))


@pytest.fixture(scope="module")
def lookahead_onnx(export_onnx, make_codec):
    return export_onnx("lookahead_snac", make_codec(LOOKAHEAD_SNAC))


def _run(stack, x: torch.Tensor, sizes: list[int], total: int, tail: int) -> torch.Tensor:
    """`x` and `tail` zero frames through `stack` in chunks cycling through `sizes`; `end` known from the start."""
    x = torch.cat([x, x.new_zeros(*x.shape[:2], tail)], dim=-1)
    end = torch.full((x.shape[0],), total, dtype=torch.int64)
    out, i, j = [], 0, 0
    with torch.no_grad(), streaming(stack, x.shape[0]):
        while i < x.shape[-1]:
            n = min(sizes[j % len(sizes)], x.shape[-1] - i)
            out.append(stack(x[..., i : i + n], end))
            i, j = i + n, j + 1
    return torch.cat(out, dim=-1)


def test_encoder_and_decoder_stacks_equal_offline(model):
    pm, hop = model.pad_multiple, model.hop_length
    group = pm // hop
    enc = lookahead_stack(model.encoder.layers, 1, group, model.encoder.dim)
    dec = lookahead_stack(model.decoder.layers, hop)
    assert enc.delay % group == 0 and enc.delay > 0 and dec.delay > 0
    torch.manual_seed(0)
    audio = torch.randn(2, 1, 7 * pm) * 0.3
    with torch.no_grad():
        latents = model.encoder(audio)
        decoded = model.decoder(latents)
    tail = -(-enc.delay_samples // pm) * pm
    streamed = _run(enc, audio, [pm, 3 * pm, 2 * pm], audio.shape[-1], tail)[..., enc.delay :]
    torch.testing.assert_close(streamed[..., : latents.shape[-1]], latents, atol=2e-5, rtol=0)
    tail = -(-dec.delay_samples // pm) * group
    streamed = _run(dec, latents, [group, 2 * group], audio.shape[-1], tail)[..., dec.delay :]
    torch.testing.assert_close(streamed[..., : decoded.shape[-1]], decoded, atol=2e-5, rtol=0)


def test_without_end_the_tail_differs(model):
    """`end` is what makes the last frames exact: without it the padding past the end is not zero."""
    pm, hop = model.pad_multiple, model.hop_length
    dec = lookahead_stack(model.decoder.layers, hop)
    torch.manual_seed(1)
    latents = torch.randn(1, model.quantizer.dim, 4 * (pm // hop)) + 1
    tail = -(-dec.delay_samples // pm) * (pm // hop)
    exact = _run(dec, latents, [pm // hop], latents.shape[-1] * hop, tail)
    blind = _run(dec, latents, [pm // hop], NO_END, tail)
    assert not torch.allclose(exact, blind)
    with torch.no_grad():
        decoded = model.decoder(latents)
    torch.testing.assert_close(exact[..., dec.delay :][..., : decoded.shape[-1]], decoded, atol=2e-5, rtol=0)


def test_states_are_cached_context_not_windows(model):
    """Every temporal layer keeps only its own context: the states' frames are far fewer than a receptive field."""
    dec = lookahead_stack(model.decoder.layers, model.hop_length)
    with streaming(dec, 1):
        states = get_streaming_state(dec)
    assert "position" in states and states["position"].dtype == torch.int64
    widest = max(v.shape[-1] for k, v in states.items() if k != "position")
    assert widest < dec.delay_samples


def test_noise_on_cannot_stream(make_codec):
    codec = make_codec("snac_tiny")  # NoiseBlocks drawing seeded noise
    with pytest.raises(StreamingError, match="NoiseBlock"):
        lookahead_stack(codec.decoder.layers, codec.hop_length)


def test_runner_streams_exactly_with_declared_latency(lookahead_onnx):
    runner = OnnxCodec(lookahead_onnx)
    pm = runner.pad_multiple
    assert runner.lookahead and not runner.causal
    enc, dec = runner.stream_encoder(2), runner.stream_decoder(2)
    assert isinstance(enc, LookaheadEncoderStream) and isinstance(dec, LookaheadDecoderStream)
    assert enc.delay % pm == 0 and enc.latency_samples == enc.chunk + enc.delay
    audio = (np.random.default_rng(2).standard_normal((2, 1, 9 * pm + 77)) * 0.3).astype(np.float32)
    offline = runner.encode(audio)
    offline_audio = runner.decode(offline)
    codes, pieces, i, sizes = [], [], 0, [pm + 5, 3 * pm, 2 * pm - 5, 4 * pm]
    while i < audio.shape[-1]:
        n = sizes[len(codes) % len(sizes)]
        codes.append(enc.push(audio[..., i : i + n]))
        pieces.append(dec.push(codes[-1]))
        i += n
    assert sum(c[0].shape[1] for c in codes) < offline[0].shape[1]  # the delay holds codes back
    codes.append(enc.flush())
    pieces += [dec.push(codes[-1]), dec.flush()]
    for level, o in enumerate(offline):
        np.testing.assert_array_equal(np.concatenate([c[level] for c in codes], axis=1), o)
    streamed = np.concatenate(pieces, axis=-1)
    assert streamed.shape == offline_audio.shape
    assert float(np.abs(streamed - offline_audio).max()) < 1e-4
    step = runner.graph("decoder_step").meta["streaming"]
    assert step["mode"] == "lookahead" and step["delay_samples"] == dec.delay


def test_runner_lookahead_refuses_single_stream_reset(lookahead_onnx):
    runner = OnnxCodec(lookahead_onnx)
    with pytest.raises(ExportError, match="together"):
        runner.stream_encoder(2).reset([0])
    with pytest.raises(ExportError, match="shorter"):
        enc = runner.stream_encoder(1)
        enc.push(np.zeros((1, 1, 10), np.float32))
        enc.flush()
