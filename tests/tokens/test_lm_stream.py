"""The LM stream decoder: exact for causal codecs, close to offline for SNAC, the same in PyTorch and ONNX."""

import numpy as np
import pytest
import torch

from codeckit.tokens import TokenError, layout
from codeckit.tokens.backends import OnnxBackend, TorchBackend
from codeckit.tokens.lmstream import LMStreamDecoder
from codeckit.tokens.moshi import moshi
from codeckit.tokens.orpheus import orpheus

# A tiny non-causal SNAC with SNAC 24 kHz's levels (strides 4, 2, 1 of 4096 codes) and NoiseBlocks; groups of 32.
SNAC = {
    "sample_rate": 16000,
    "encoder": {"name": "snac", "dim": 8, "rates": [2, 4], "depthwise": True, "attn_window": None},
    "quantizer": {
        "name": "multiscale_rvq",
        "strides": [4, 2, 1],
        "level": {"name": "vq", "dim": 32, "codebook_size": 4096, "codebook_dim": 8, "l2_normalize": True},
    },
    "decoder": {"name": "snac", "latent_dim": 32, "dim": 32, "rates": [4, 2], "depthwise": True, "noise": True},
}


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """One intra-op thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def causal(make_codec, tiny_causal_seanet):
    """A tiny causal SEANet with 2 residual levels of 64 codes (hop 8 samples), as Mimi is for Moshi."""
    return make_codec(tiny_causal_seanet("zeros"))


@pytest.fixture(scope="module")
def snac(make_codec):
    return make_codec(SNAC)


def _codes(codec, frames, seed=0):
    g = torch.Generator().manual_seed(seed)
    n0 = codec.hop_lengths[0]
    return [
        torch.randint(0, s, (frames * n0 // h,), generator=g) for s, h in zip(codec.codebook_sizes, codec.hop_lengths)
    ]


def _offline(codec, codes):
    return TorchBackend(codec).decode([c[None].numpy() for c in codes])


def _stream(decoder, ids, sizes, axis=-1):
    out, i = [], 0
    for n in sizes * 100:
        if i >= ids.shape[axis]:
            break
        out.append(decoder.push(ids[..., i : i + n]))
        i += n
    out.append(decoder.flush())
    return np.concatenate(out, axis=-1)


def _snr(x, ref):
    return 10 * np.log10(np.sum(ref**2) / np.sum((x - ref) ** 2))


def test_causal_stream_equals_offline_pytorch_and_onnx(causal, export_onnx):
    from codeckit.export.runner import OnnxCodec

    lay = moshi(n_q=2, card=64)
    codes = _codes(causal, 37)
    ids = lay.encode(codes)
    ref = _offline(causal, codes)
    onnx_dir = export_onnx("lm_causal", causal)
    for runner in (causal, OnnxCodec(onnx_dir)):
        dec = LMStreamDecoder(runner, lay)
        assert dec.latency_samples == causal.pad_multiple == 8
        got = _stream(dec, ids, [1, 3, 0, 7, 2])
        assert got.shape == ref.shape and np.abs(got - ref).max() <= 1e-4
    with pytest.raises(TokenError, match="streams exactly"):
        LMStreamDecoder(causal, lay, lookahead=8)


def test_snac_stream_close_to_offline_and_exact_with_enough_lookahead(snac):
    lay = layout("orpheus")
    codes = _codes(snac, 30, seed=1)
    ids = lay.encode(codes)
    ref = _offline(snac, codes)
    g = snac.pad_multiple
    short = _stream(LMStreamDecoder(snac, lay, lookahead=g // 2, context=g), ids, [7, 14, 3])
    longer = _stream(LMStreamDecoder(snac, lay, lookahead=2 * g, context=2 * g, crossfade=g // 2), ids, [7, 3])
    exact = _stream(LMStreamDecoder(snac, lay, lookahead=8 * g, context=8 * g), ids, [5, 30])
    assert short.shape == longer.shape == exact.shape == ref.shape
    assert 10 < _snr(short, ref) < _snr(longer, ref)
    assert np.abs(exact - ref).max() <= 1e-4  # lookahead and context beyond the decoder's receptive field


def test_pytorch_and_onnx_stream_alike(snac, export_onnx):
    lay = layout("orpheus")
    ids = lay.encode(_codes(snac, 12, seed=2))
    onnx = OnnxBackend(export_onnx("lm_snac", snac))
    kw = {"lookahead": 48, "context": 64, "crossfade": 16}
    a = _stream(LMStreamDecoder(snac, lay, **kw), ids, [7, 1, 20])
    b = _stream(LMStreamDecoder(onnx, lay, **kw), ids, [7, 1, 20])
    assert a.shape == b.shape and np.abs(a - b).max() <= 1e-4


def test_first_audio_comes_after_one_group_plus_lookahead(snac):
    lay = layout("orpheus")
    ids = lay.encode(_codes(snac, 4, seed=3))
    g = snac.pad_multiple
    dec = LMStreamDecoder(snac, lay, lookahead=g // 2)
    assert dec.push(ids[:6]).shape == (1, 0)  # no whole frame yet
    assert dec.push(ids[6:7]).shape == (1, g // 2)  # one frame: all but the lookahead
    assert dec.push(ids[7:14]).shape == (1, g)
    assert dec.push(ids[14:]).shape == (1, 2 * g)
    assert dec.latency_samples == g + g // 2
    assert dec.flush().shape == (1, g // 2) and dec.emitted == 0


def test_markers_skipped_and_unfinished_frame_dropped(snac):
    lay = orpheus()
    codes = _codes(snac, 3, seed=4)
    ids = lay.encode(codes).tolist()
    stream = [128257] + ids + ids[:4] + [128258]  # start of speech, 3 frames, 4 ids of a 4th, end of speech
    dec = LMStreamDecoder(snac, lay)
    out = np.concatenate([dec.push(stream), dec.flush()], axis=-1)
    assert out.shape == (1, 3 * snac.pad_multiple) and dec.dropped == 4


def test_mismatched_layout_and_codec(snac, causal):
    with pytest.raises(TokenError, match="layout 'moshi' carries 8 levels"):
        LMStreamDecoder(snac, "moshi")
    with pytest.raises(TokenError, match="level 0 has 2048 codes; the codec's codebook has 64"):
        LMStreamDecoder(causal, moshi(n_q=2))
    with pytest.raises(TokenError, match="crossfade <= lookahead"):
        LMStreamDecoder(snac, "orpheus", lookahead=8, crossfade=16)
