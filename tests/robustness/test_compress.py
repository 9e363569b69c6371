"""`codeckit compress` / `codeckit decompress` at the edge: bad audio and token inputs, damaged `.ckc` files,
a file of another codec, a missing or damaged context model: one line each, nothing half-written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from robustness_helpers import SR, assert_clean_error, assert_no_partial_files, cli, tone


@pytest.fixture(scope="module")
def cmodel(model_dir, tmp_path_factory):
    """The tiny model dir with a context model fit on a few random code sequences."""
    import codeckit
    from codeckit.compress.files import spec_of
    from codeckit.compress.fit import fit_context_model
    from codeckit.compress.storage import save_context_model

    d = tmp_path_factory.mktemp("cmodel") / "model"
    shutil.copytree(model_dir, d)
    spec = spec_of(codeckit.load(d))
    rng = np.random.default_rng(0)
    items = [[rng.integers(0, 1024, 8 * m) for m in (1, 2, 4)] for _ in range(4)]
    save_context_model(fit_context_model(items, spec), d)
    return d


@pytest.fixture(scope="module")
def ckc(cmodel, tmp_path_factory):
    src = tmp_path_factory.mktemp("ckc_src") / "good.wav"
    sf.write(src, tone(0.3), SR)
    out = src.parent / "out"
    assert cli_ok(["compress", src, "--model", cmodel, "--out", out])
    return out / "good.ckc"


def cli_ok(argv) -> bool:
    from codeckit.cli import main

    return main([str(a) for a in argv]) == 0


COMPRESS_CASES = {
    "text_named_wav": ["cannot read audio file"],
    "zero_samples": ["zero-length"],
    "nan_audio": ["NaN"],
    "foreign_token_file": ["was made by codec"],
    "truncated_token_file": ["not a readable safetensors token file"],
    "no_context_model": ["no context model", "compress fit"],
    "damaged_context_model": ["context_model"],
}


@pytest.mark.parametrize("case", list(COMPRESS_CASES))
def test_compress_inputs(capsys, cmodel, model_dir, other_model_dir, tmp_path, case):
    import codeckit

    model = cmodel
    src = tmp_path / "in" / "x.wav"
    src.parent.mkdir()
    sf.write(src, tone(0.2), SR)
    if case == "text_named_wav":
        src.write_text("not audio")
    elif case == "zero_samples":
        sf.write(src, np.zeros(0, np.float32), SR)
    elif case == "nan_audio":
        sf.write(src, np.full(4800, np.nan, np.float32), SR, subtype="FLOAT")
    elif case == "foreign_token_file":
        src = tmp_path / "in" / "x.tokens.safetensors"
        codeckit.load(other_model_dir).tokenize_to_file(tone(0.2), src)
    elif case == "truncated_token_file":
        src = tmp_path / "in" / "x.tokens.safetensors"
        codeckit.load(cmodel).tokenize_to_file(tone(0.2), src)
        src.write_bytes(src.read_bytes()[:-30])
    elif case == "no_context_model":
        model = model_dir
    elif case == "damaged_context_model":
        model = tmp_path / "model"
        shutil.copytree(cmodel, model)
        f = model / "context_model.safetensors"
        f.write_bytes(f.read_bytes()[:100])
    out = tmp_path / "out"
    o = cli(capsys, "compress", src, "--model", model, "--out", out)
    assert_clean_error(o, *COMPRESS_CASES[case])
    assert not (out / "x.ckc").exists()
    assert_no_partial_files(out)


DECOMPRESS_CASES = {
    "valid": None,
    "truncated": ["good.ckc"],
    "empty": ["good.ckc"],
    "text": ["good.ckc"],
    "flipped_byte": ["good.ckc"],
    "tokens_named_ckc": ["good.ckc"],
    "other_model": ["good.ckc"],
}


@pytest.mark.parametrize("case", list(DECOMPRESS_CASES))
def test_decompress_inputs(capsys, cmodel, other_model_dir, ckc, tmp_path, case):
    src = tmp_path / "in" / "good.ckc"
    src.parent.mkdir()
    data = ckc.read_bytes()
    model = cmodel
    if case == "valid":
        src.write_bytes(data)
    elif case == "truncated":
        src.write_bytes(data[: len(data) * 2 // 3])
    elif case == "empty":
        src.write_bytes(b"")
    elif case == "text":
        src.write_text("hello\n" * 20)
    elif case == "flipped_byte":
        b = bytearray(data)
        b[len(b) - 5] ^= 0xFF
        src.write_bytes(bytes(b))
    elif case == "tokens_named_ckc":
        import codeckit

        codeckit.load(cmodel).tokenize_to_file(tone(0.2), src)
    elif case == "other_model":
        src.write_bytes(data)
        model = other_model_dir
    out = tmp_path / "out"
    o = cli(capsys, "decompress", src, "--model", model, "--out", out)
    if DECOMPRESS_CASES[case] is None:
        assert o.rc == 0, o.err
        assert sf.info(out / "good.wav").frames == int(0.3 * SR)
    else:
        assert_clean_error(o, *DECOMPRESS_CASES[case])
        assert not (out / "good.wav").exists()
    assert_no_partial_files(out)


def _api_source(case: str):
    import torch

    g = torch.Generator().manual_seed(0)
    codes = [torch.randint(0, 1024, (2 * m,), generator=g) for m in (1, 2, 4)]
    if case == "zero_length":
        return np.zeros(0, np.float32)
    if case == "nan":
        return np.full(100, np.nan, np.float32)
    if case == "codes_out_of_range":
        return [codes[0] + 1024, *codes[1:]]
    if case == "codes_negative":
        return [codes[0], codes[1] - 2000, codes[2]]
    if case == "codes_spans_disagree":
        return [codes[0], codes[1][:1], codes[2]]
    if case == "codes_too_many_levels":
        return [*codes, codes[2]]
    if case == "codes_float":
        return [c.float() for c in codes]
    raise AssertionError(case)


API_CASES = ["zero_length", "nan", "codes_out_of_range", "codes_negative", "codes_spans_disagree",
             "codes_too_many_levels", "codes_float"]  # fmt: skip


@pytest.mark.parametrize("case", API_CASES)
def test_compress_api_refuses(cmodel, tmp_path, case):
    """`codec.compress` refuses what it cannot code with a CodeckitError and leaves no file behind."""
    import codeckit
    from codeckit.errors import CodeckitError

    codec = codeckit.load(cmodel)
    out = tmp_path / "x.ckc"
    with pytest.raises(CodeckitError) as info:
        codec.compress(_api_source(case), out, sr=SR)
    assert "\n" not in str(info.value)
    assert not out.exists()
    assert_no_partial_files(tmp_path)
