"""Codes and token files at the edge: `codec.detokenize` and `codeckit detokenize` refuse what a codec cannot
decode with one TokenError naming the level, frame or file, and write nothing for it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from robustness_helpers import assert_clean_error, assert_no_partial_files, cli, fuzz, tone
from safetensors import safe_open
from safetensors.torch import save_file

from codeckit.tokens.errors import TokenError

# snac_tiny: hops 2048, 1024, 512; one codec group (2048 samples) is 1, 2 and 4 frames of levels 0, 1, 2


def valid_codes(groups: int = 2) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(0, 1024, (1, groups * m), generator=g) for m in (1, 2, 4)]


def _with(level: int, value) -> list[torch.Tensor]:
    codes = valid_codes()
    codes[level][0, 1] = value
    return codes


CODE_CASES = {
    # id: (codes, None for decodable or words of the TokenError)
    "valid": (valid_codes(), None),
    "valid_1d": ([c[0] for c in valid_codes()], None),
    "valid_int16": ([c.to(torch.int16) for c in valid_codes()], None),
    "fewer_levels": (valid_codes()[:2], None),  # the first n levels decode
    "out_of_range": (_with(0, 1024), ["code 1024", "level 0", "frame 1"]),
    "out_of_range_fine": (_with(2, 10**9), ["level 2"]),
    "negative": (_with(1, -1), ["code -1", "level 1"]),
    "too_many_levels": (valid_codes() + [valid_codes()[2]], ["4 levels"]),
    "no_levels": ([], ["non-empty"]),
    "spans_disagree": ([valid_codes()[0], valid_codes(3)[1], valid_codes()[2]], ["same span"]),
    "zero_frames": ([c[:, :0] for c in valid_codes()], ["no frames"]),
    "float_codes": ([c.float() for c in valid_codes()], ["dtype"]),
    "bool_codes": ([c > 0 for c in valid_codes()], ["dtype"]),
    "numpy_codes": ([c.numpy() for c in valid_codes()], ["tensor"]),
    "3d_codes": ([c[None] for c in valid_codes()], ["tensor"]),
    "batch_mismatch": ([valid_codes()[0].repeat(2, 1), *valid_codes()[1:]], ["batch"]),
    "a_tensor_not_a_list": (torch.zeros(3, 4, dtype=torch.long), ["list"]),
}


@pytest.mark.parametrize("case", list(CODE_CASES))
def test_code_lists(codec, case):
    codes, words = CODE_CASES[case]
    if words is None:
        audio = codec.detokenize(codes)
        assert len(audio) == 1 and bool(torch.isfinite(audio[0]).all())
        return
    with pytest.raises(TokenError) as info:
        codec.detokenize(codes)
    msg = str(info.value)
    assert "\n" not in msg and all(w.lower() in msg.lower() for w in words), msg


@fuzz(15)
@given(
    levels=st.integers(1, 4),
    frames0=st.sampled_from([0, 1, 3, 4, 8]),
    low=st.integers(-3, 0),
    high=st.sampled_from([5, 1023, 1024, 70000]),
    dtype=st.sampled_from([torch.int64, torch.int32, torch.float32]),
    jitter=st.booleans(),
)
def test_any_code_list_decodes_or_raises_token_error(codec, levels, frames0, low, high, dtype, jitter):
    g = torch.Generator().manual_seed(frames0 * 7 + levels)
    codes = []
    for level in range(levels):
        n = frames0 * 2**level + (1 if jitter and level == 1 else 0)
        codes.append(torch.randint(low, high, (1, n), generator=g).to(dtype))
    try:
        audio = codec.detokenize(codes)
    except TokenError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert bool(torch.isfinite(audio[0]).all())


# -- token files ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def token_file(codec, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "good.tokens.safetensors"
    codec.tokenize_to_file(tone(0.2), path)
    return path


def _rewrite(src, dst, tensors=None, header=None, meta=None):
    with safe_open(str(src), framework="pt") as f:
        old_meta = f.metadata()
        old = {k: f.get_tensor(k) for k in f.keys()}
    m = dict(old_meta)
    if header is not None:
        h = json.loads(m["header"])
        h.update(header)
        m["header"] = json.dumps(h)
    m.update(meta or {})
    save_file(tensors(old) if tensors else old, str(dst), metadata=m)


def _make(kind, path, token_file, other_codec):
    if kind == "valid":
        path.write_bytes(token_file.read_bytes())
    elif kind == "other_model":
        other_codec.tokenize_to_file(tone(0.2), path)
    elif kind == "truncated":
        data = token_file.read_bytes()
        path.write_bytes(data[: len(data) - 40])
    elif kind == "truncated_header":
        path.write_bytes(token_file.read_bytes()[:30])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("codes.0 = [1, 2, 3]\n")
    elif kind == "float_codes":
        _rewrite(token_file, path, tensors=lambda t: {k: v.float() + 0.5 for k, v in t.items()})
    elif kind == "out_of_range":
        _rewrite(token_file, path, tensors=lambda t: {k: v.int().clone().fill_(5000) for k, v in t.items()})
    elif kind == "negative":
        _rewrite(token_file, path, tensors=lambda t: {k: v.clone().fill_(-2) for k, v in t.items()})
    elif kind == "missing_level":
        _rewrite(token_file, path, tensors=lambda t: {k: v for k, v in t.items() if k != "codes.2"})
    elif kind == "extra_tensor":
        _rewrite(token_file, path, tensors=lambda t: {**t, "codes.3": t["codes.2"].clone()})
    elif kind == "renamed_tensor":
        _rewrite(token_file, path, tensors=lambda t: {**{k: t[k] for k in ("codes.0", "codes.1")}, "x": t["codes.2"]})
    elif kind == "2d_codes":
        _rewrite(token_file, path, tensors=lambda t: {k: v[None].contiguous() for k, v in t.items()})
    elif kind == "hop_zero":
        _rewrite(token_file, path, header={"hop_lengths": [0, 0, 0]})
    elif kind == "length_huge":
        _rewrite(token_file, path, header={"length": 10**15})
    elif kind == "length_negative":
        _rewrite(token_file, path, header={"length": -5})
    elif kind == "header_not_json":
        _rewrite(token_file, path, meta={"header": "{not json"})
    elif kind == "header_wrong_type":
        _rewrite(token_file, path, header={"sample_rate": "24k"})
    elif kind == "header_unknown_key":
        _rewrite(token_file, path, header={"evil": "__import__('os').system('touch PWNED')"})
    elif kind == "wrong_format":
        _rewrite(token_file, path, meta={"format": "something.else"})
    elif kind == "future_version":
        _rewrite(token_file, path, meta={"version": "99"})
    elif kind == "model_weights":
        pass  # filled in by the test (a model.safetensors)
    elif kind == "missing":
        pass
    else:
        raise AssertionError(kind)


FILE_CASES = {
    # id: None for decodable, or words of the TokenError
    "valid": None,
    "other_model": ["was made by codec", "not by this one"],
    "truncated": ["not a readable safetensors token file"],
    "truncated_header": ["not a readable safetensors token file"],
    "empty": ["not a readable safetensors token file"],
    "text": ["not a readable safetensors token file"],
    "float_codes": ["dtype float32", "integers"],
    "out_of_range": ["code 5000", "outside the codebook"],
    "negative": ["code -2"],
    "missing_level": ["header says 3 active levels"],
    "extra_tensor": ["header says 3 active levels", "holds 4"],
    "renamed_tensor": ["expected tensors"],
    "2d_codes": ["level 0 has shape"],
    "hop_zero": ["must be positive"],
    "length_huge": ["need at least"],
    "length_negative": ["must be positive"],
    "header_not_json": ["bad header"],
    "header_wrong_type": ["bad header", "sample_rate"],
    "header_unknown_key": ["bad header", "unknown key", "evil"],
    "wrong_format": ["not a codeckit token file"],
    "future_version": ["version 99"],
    "model_weights": ["not a codeckit token file"],
    "missing": ["not found"],
}


@pytest.fixture(scope="module")
def other_codec(other_model_dir):
    import codeckit

    return codeckit.load(other_model_dir)


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_token_files_api(codec, other_codec, token_file, model_dir, tmp_path, case):
    path = tmp_path / f"{case}.tokens.safetensors"
    if case == "model_weights":
        path.write_bytes((model_dir / "model.safetensors").read_bytes())
    else:
        _make(case, path, token_file, other_codec)
    words = FILE_CASES[case]
    if words is None:
        assert codec.detokenize(path)[0].shape[-1] == 4800
        return
    with pytest.raises(TokenError) as info:
        codec.detokenize(path)
    msg = str(info.value)
    assert "\n" not in msg and all(w.lower() in msg.lower() for w in words), msg
    assert str(path) in msg or case == "other_model"
    assert not list(tmp_path.glob("PWNED"))


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_token_files_cli(capsys, codec, other_codec, token_file, model_dir, tmp_path, case):
    src = tmp_path / "in" / f"{case}.tokens.safetensors"
    src.parent.mkdir()
    if case == "model_weights":
        src.write_bytes((model_dir / "model.safetensors").read_bytes())
    else:
        _make(case, src, token_file, other_codec)
    out = tmp_path / "out"
    o = cli(capsys, "detokenize", src, "--model", model_dir, "--out", out)
    words = FILE_CASES[case]
    if words is None:
        assert o.rc == 0, o.err
        assert (out / f"{case}.wav").is_file()
    else:
        words = ["input not found"] if case == "missing" else ["1 of 1 inputs failed", *words]
        assert_clean_error(o, *words)
        assert not (out / f"{case}.wav").exists()
    assert_no_partial_files(out)


def test_load_tokens_refuses_other_codec(codec, other_codec, tmp_path):
    path = tmp_path / "b.tokens.safetensors"
    other_codec.tokenize_to_file(tone(0.1), path)
    with pytest.raises(TokenError, match="decode it with the codec that made it"):
        codec.load_tokens(path)


def test_detokenize_to_file_bad_format_leaves_nothing(codec, token_file, tmp_path):
    from codeckit.errors import AudioError

    with pytest.raises(AudioError, match="unsupported audio format"):
        codec.detokenize_to_file(token_file, tmp_path / "x.notaformat")
    assert not list(tmp_path.iterdir())


def test_numpy_codes_are_named(codec):
    with pytest.raises(TokenError, match="tensor"):
        codec.detokenize([np.zeros((1, 4), np.int64)] * 3)
