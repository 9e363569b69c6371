"""The .ckc layout: corrupt or cut files fail naming the chunk, earlier chunks still decode, seeking, and
nothing is ever written half."""

import io

import numpy as np
import pytest
from conftest import random_codes

from codeckit.compress.errors import CompressError
from codeckit.compress.files import compress_codes, decompress_file, write_codes
from codeckit.compress.fit import fit_context_model
from codeckit.compress.model import ContextConfig
from codeckit.compress.reader import CompressedReader


@pytest.fixture(scope="module")
def coded(fitted):
    """(model, codes, file bytes, first record offset, chunk offsets, end record offset) of an encodec_tiny
    item in 6 chunks of 25 frames, the last one short (7 frames)."""
    _, model = fitted["encodec_tiny"]
    codes = random_codes(model.spec, 5 * 25 + 7, np.random.default_rng(5))
    buf = io.BytesIO()
    write_codes(buf, codes, model, seconds_per_chunk=0.5)  # 25 frames at 50 Hz
    data = buf.getvalue()
    with CompressedReader(data, model) as r:
        offsets = [rec.offset for rec in r.records()]
        first, end = r._first, r.end_offset
    assert len(offsets) == 6
    return model, codes, data, first, offsets, end


def _good_chunks(data, model):
    """The chunks decoded before the error, and the error's message."""
    got = []
    with pytest.raises(CompressError) as e:
        with CompressedReader(data, model) as r:
            for chunk in r.chunks():
                got.append(chunk)
    assert "\n" not in str(e.value)
    return got, str(e.value)


def _check_prefix(got, codes):
    for i, chunk in enumerate(got):
        assert all(np.array_equal(c, x[i * 25 : (i + 1) * 25]) for c, x in zip(chunk, codes))


def test_every_flipped_byte_is_caught_and_named(coded):
    model, codes, data, first, offsets, end = coded
    for pos in range(len(data)):
        bad = bytearray(data)
        bad[pos] ^= 0x10
        if pos < first:
            with pytest.raises(CompressError, match="header|magic|version"):
                CompressedReader(bytes(bad), model)
            continue
        got, msg = _good_chunks(bytes(bad), model)
        if pos >= end:
            assert len(got) == 6 and ("end record" in msg or "chunk 6 " in msg), (pos, msg)
        else:
            k = sum(o <= pos for o in offsets) - 1
            assert len(got) == k and f"chunk {k} (byte {offsets[k]})" in msg, (pos, msg)
        _check_prefix(got, codes)


def test_every_cut_is_caught_and_named(coded):
    model, codes, data, first, offsets, end = coded
    for cut in range(len(data)):
        part = data[:cut]
        if cut < first:
            with pytest.raises(CompressError, match="header|magic"):
                CompressedReader(part, model)
            continue
        got, msg = _good_chunks(part, model)
        k = sum(o < cut for o in offsets)  # chunks begun before the cut
        if cut in (*offsets, end):
            assert len(got) == k and f"ends after chunk {k - 1} without its end record (truncated)" in msg, msg
        elif cut > end:
            assert len(got) == 6 and "end record" in msg and "truncated" in msg, msg
        else:
            assert len(got) == k - 1 and f"chunk {k - 1} (byte {offsets[k - 1]}) is truncated" in msg, msg
        _check_prefix(got, codes)


def test_seek_reads_one_chunk(coded):
    model, codes, data, _, _, _ = coded
    with CompressedReader(data, model) as r:
        all_chunks = list(r.chunks())
        for k in (5, 0, 3):
            assert all(np.array_equal(a, b) for a, b in zip(r.chunk(k), all_chunks[k]))
        with pytest.raises(CompressError, match="no chunk 6"):
            r.chunk(6)
    assert [c.shape[0] for c in all_chunks[-1]] == [7] * 4


def test_other_model_or_not_a_ckc_file_is_refused(coded, fitted, tmp_path):
    model, codes, data, _, _, _ = coded
    refit = fit_context_model([codes], model.spec, ContextConfig(discount=0.5))
    with pytest.raises(CompressError, match="another|context model .* not this one"):
        decompress_file(data, refit)
    _, snac = fitted["snac_tiny"]
    with pytest.raises(CompressError, match="codec"):
        decompress_file(data, snac)
    with pytest.raises(CompressError, match="not a codeckit compressed file"):
        decompress_file(b"RIFF0000WAVE", model)
    with pytest.raises(CompressError, match="not found"):
        decompress_file(tmp_path / "missing.ckc", model)


def test_failed_write_leaves_nothing(coded, tmp_path):
    model, codes, _, _, _, _ = coded
    bad = [c.copy() for c in codes]
    bad[2][60] = 5000  # outside the codebook, in chunk 2: chunks 0 and 1 were already written
    with pytest.raises(CompressError, match="level 2 has codes outside"):
        compress_codes(tmp_path / "x.ckc", bad, model, seconds_per_chunk=0.5)
    with pytest.raises(CompressError, match="same span"):
        compress_codes(tmp_path / "x.ckc", [codes[0], codes[1][:-1]], model)
    assert list(tmp_path.iterdir()) == []
