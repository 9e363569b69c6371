"""decompress(compress(codes)) == codes, bit for bit, for every codec family, random codes included."""

import io

import numpy as np
import pytest
import torch
from conftest import FAMILIES, random_codes, tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeckit.compress.contexts import ScalarContext, chunk_rows
from codeckit.compress.files import compress_codes, compressed_bits, decompress_file, write_codes
from codeckit.compress.fit import fit_context_model
from codeckit.compress.model import ContextConfig
from codeckit.compress.reader import CompressedReader

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _codes(spec, data, n_levels):
    """Hypothesis-drawn codes: uniform over whole codebooks, or structured walks, of random length."""
    frames0 = data.draw(st.integers(1, 120), label="frames0")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    if data.draw(st.booleans(), label="uniform"):
        return [
            rng.integers(0, size, frames0 * spec.hop_lengths[0] // hop)
            for hop, size in zip(spec.hop_lengths[:n_levels], spec.codebook_sizes[:n_levels])
        ]
    return random_codes(spec, frames0, rng, n_levels)


@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(data=st.data())
def test_roundtrip_random_codes(fitted, name, data):
    codec, model = fitted[name]
    spec = model.spec
    n = data.draw(st.integers(1, spec.levels), label="n_quantizers")
    codes = _codes(spec, data, n)
    span = codes[0].shape[0] * spec.hop_lengths[0]
    length = data.draw(st.integers(max(1, span - spec.hop_lengths[0] + 1), span), label="length")
    seconds = data.draw(st.sampled_from([0.02, 0.3, 2.0]), label="seconds_per_chunk")
    buf = io.BytesIO()
    write_codes(buf, codes, model, length=length, seconds_per_chunk=seconds, source="x.wav", source_sample_rate=8000)
    tf = decompress_file(buf.getvalue(), model)
    assert [c.tolist() for c in tf.codes] == [c.tolist() for c in codes]
    assert tf.header.length == length and tf.header.codec_id == codec.identity
    assert tf.header.source == "x.wav" and tf.header.source_sample_rate == 8000


@SETTINGS
@given(data=st.data())
def test_roundtrip_hashed_and_exact_contexts(fitted, data):
    """Small bucket counts force hashed rows; every stage shape codes back exactly."""
    _, base = fitted["snac_tiny"]
    stages = data.draw(
        st.sampled_from([[], [["prev"]], [["coarse2", "coarse", "prev2", "prev"], ["coarse", "prev"], ["prev"]]])
    )
    config = ContextConfig(stages=stages, buckets=data.draw(st.sampled_from([1, 7, 4096])))
    rng = np.random.default_rng(1)
    model = fit_context_model([random_codes(base.spec, 30, rng) for _ in range(5)], base.spec, config)
    codes = _codes(base.spec, data, base.spec.levels)
    buf = io.BytesIO()
    write_codes(buf, codes, model, seconds_per_chunk=0.2)
    assert [c.tolist() for c in decompress_file(buf.getvalue(), model).codes] == [c.tolist() for c in codes]


@SETTINGS
@given(data=st.data())
def test_scalar_rows_equal_vectorised_rows(fitted, data):
    """The decoder's per-frame context rows are the encoder's (hashed and exact stages alike)."""
    _, base = fitted["snac_tiny"]
    config = ContextConfig(stages=[["coarse2", "coarse", "prev"], ["coarse", "prev2"], ["prev"]], buckets=97)
    model = fit_context_model([], base.spec, config)
    codes = _codes(base.spec, data, base.spec.levels)
    for lv, x in enumerate(codes):
        rows = chunk_rows(codes, lv, model.stages[lv], model.spec.hop_lengths, model.spec.codebook_sizes[lv])
        ctx = ScalarContext(codes, lv, model.stages[lv], model.spec.hop_lengths)
        none = model.spec.codebook_sizes[lv]
        scalar = [ctx.rows(x.tolist(), t, none) for t in range(x.shape[0])]
        assert [tuple(r) for r in rows.T.tolist()] == scalar


@pytest.mark.parametrize("name", FAMILIES)
def test_audio_roundtrip_through_codec(fitted, tmp_path, name):
    """codec.compress(audio) then codec.decompress(tokens=True) gives tokenize's codes; audio decodes too."""
    codec, _ = fitted[name]
    audio = tone(0.7, codec.sample_rate)
    path = codec.compress(audio, tmp_path / "a.ckc", seconds_per_chunk=0.25)
    tokens = codec.decompress(path, tokens=True)
    want = codec.tokenize(audio)
    assert tokens.lengths == want.lengths and all(torch.equal(a, b) for a, b in zip(tokens.codes, want.codes))
    if name == "dac_tiny":
        wav = codec.decompress(path)
        assert wav.shape == (codec.channels, audio.shape[-1]) and wav.dtype == torch.float32


def test_compressed_bits_counts_the_file(fitted, tmp_path):
    codec, model = fitted["encodec_tiny"]
    codes = random_codes(model.spec, 230, np.random.default_rng(3))
    path = compress_codes(tmp_path / "x.ckc", codes, model)
    assert compressed_bits(codec, codes, include_header=True) == 8 * path.stat().st_size
    with CompressedReader(path, model) as r:
        records = list(r.records())
    framing = sum(len(rec.payload) for rec in records) * 8
    bits = compressed_bits(model, [torch.from_numpy(c)[None] for c in codes])
    assert framing < bits < 8 * path.stat().st_size
    assert bits < 0.5 * sum(c.shape[0] * 10 for c in codes)  # far below 10 bits per code for these walks
