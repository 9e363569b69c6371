"""PyTorch streaming of whole codecs (encoder, quantizer, decoder): chunked == offline for causal configs."""

from __future__ import annotations

import pytest
import torch

from codeckit.nn.streaming import StreamingError


def _spans(total: int, sizes: list[int]) -> list[tuple[int, int]]:
    out, i, j = [], 0, 0
    while i < total:
        n = min(sizes[j % len(sizes)], total - i)
        out.append((i, i + n))
        i, j = i + n, j + 1
    return out


def _stream(codec, audio: torch.Tensor, group_sizes: list[int]):
    """Encode then decode `audio` chunk by chunk (chunk lengths cycle through `group_sizes` codec groups)."""
    pm = codec.pad_multiple
    codes, pieces = [], []
    with torch.no_grad(), codec.streaming(audio.shape[0]):
        for a, b in _spans(audio.shape[-1], [g * pm for g in group_sizes]):
            c = codec.encode(audio[..., a:b])
            codes.append(c)
            pieces.append(codec.decode(c))
    return [torch.cat(level, dim=1) for level in zip(*codes)], torch.cat(pieces, dim=-1)


@pytest.mark.parametrize("name", ["encodec_tiny", "causal_snac"])
def test_codec_streaming_equals_offline(name, request):
    codec = request.getfixturevalue(name)
    pm = codec.pad_multiple
    torch.manual_seed(1)
    audio = torch.randn(2, 1, 13 * pm) * 0.5
    with torch.no_grad():
        codes = codec.encode(audio)
        decoded = codec.decode(codes)
    # codes that vary over time and between items, so equality means something
    assert sum(len(torch.unique(c)) for c in codes) > 2 * len(codes)
    assert any(bool((c[0] != c[1]).any()) for c in codes)
    s_codes, s_audio = _stream(codec, audio, [1, 3, 2])
    for s, c in zip(s_codes, codes):
        assert torch.equal(s, c)
    assert s_audio.shape == decoded.shape
    assert torch.allclose(s_audio, decoded, atol=1e-5)


def test_last_chunk_shorter(causal_snac):
    """A stream whose length is no multiple of the codec's: the last chunk is zero-padded as offline pads."""
    codec, pm = causal_snac, causal_snac.pad_multiple
    torch.manual_seed(3)
    audio = torch.randn(1, 1, 5 * pm + pm // 3) * 0.5
    with torch.no_grad():
        ref = codec.encode(audio)
        with codec.streaming(1):
            parts = [codec.encode(audio[..., : 3 * pm]), codec.encode(audio[..., 3 * pm :])]
    for level, r in enumerate(ref):
        assert torch.equal(torch.cat([p[level] for p in parts], dim=1), r)


def test_reset_one_stream(encodec_tiny):
    """Stream 1 restarted mid-way codes its new signal as if from the start; stream 0 goes on unchanged."""
    codec, pm = encodec_tiny, encodec_tiny.pad_multiple
    torch.manual_seed(2)
    a, b = torch.randn(1, 1, 8 * pm) * 0.5, torch.randn(1, 1, 4 * pm) * 0.5
    with torch.no_grad():
        ref_a, ref_b = codec.encode(a), codec.encode(b)
        with codec.streaming(2):
            first = codec.encode(torch.cat([a[..., : 4 * pm], torch.randn(1, 1, 4 * pm)]))
            codec.reset_streaming([1])
            second = codec.encode(torch.cat([a[..., 4 * pm :], b]))
    for level in range(codec.n_levels):
        assert torch.equal(torch.cat([first[level][0], second[level][0]]), ref_a[level][0])
        assert torch.equal(second[level][1], ref_b[level][0])


def test_non_causal_codec_refuses_to_stream(snac_tiny):
    with pytest.raises(StreamingError):
        with snac_tiny.streaming(1):
            pass
