"""Audio at the edge: arrays and files of every odd kind through `codec.tokenize` and `codeckit tokenize`.

Each case either codes (codes in range, the item's length kept) or raises AudioError / exits 2 with one line
naming the problem; a failed file leaves no token file, half-written or whole.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from robustness_helpers import SR, assert_clean_error, assert_no_partial_files, cli, fuzz, tone

from codeckit.errors import AudioError, CodeckitError

OK = "ok"


def _codes_ok(codec, tokens, length: int | None = None) -> None:
    assert len(tokens) >= 1
    for level, (c, size) in enumerate(zip(tokens.codes, codec.codebook_sizes)):
        assert c.dtype == torch.int64 and int(c.min()) >= 0 and int(c.max()) < size, level
    if length is not None:
        assert tokens.lengths[0] == length


# -- arrays through the API ---------------------------------------------------------------------------------
x = tone(0.2)
ARRAY_CASES = {
    # id: (array, sr, expected: OK or (error class, words in the message), expected length at the codec rate)
    "empty": (np.zeros(0, np.float32), SR, (AudioError, "zero-length"), None),
    "empty_2d": (np.zeros((1, 0), np.float32), SR, (AudioError, "zero-length"), None),
    "one_sample": (np.array([0.1], np.float32), SR, OK, 1),
    "nan": (np.where(np.arange(len(x)) == 100, np.nan, x).astype(np.float32), SR, (AudioError, "NaN"), None),
    "inf": (np.where(np.arange(len(x)) == 7, np.inf, x).astype(np.float32), SR, (AudioError, "Inf"), None),
    "int16": ((x * 32767).astype(np.int16), SR, OK, len(x)),
    "int32": ((x * 2**31 * 0.9).astype(np.int32), SR, OK, len(x)),
    "float64": (x.astype(np.float64), SR, OK, len(x)),
    "uint8": ((x * 100 + 128).astype(np.uint8), SR, (AudioError, "dtype"), None),
    "int64": ((x * 32767).astype(np.int64), SR, (AudioError, "dtype"), None),
    "complex": (x.astype(np.complex64), SR, (AudioError, "dtype"), None),
    "bool": (x > 0, SR, (AudioError, "dtype"), None),
    "8_channels": (np.stack([x] * 8), SR, OK, len(x)),
    "samples_by_channels": (np.stack([x] * 8).T.copy(), SR, (AudioError, "(samples, channels)"), None),
    "3_dims_4_dims": (np.zeros((1, 1, 1, 100), np.float32), SR, (AudioError, "shape"), None),
    "scalar": (np.array(0.5, np.float32), SR, (AudioError, "shape"), None),
    "numpy_scalar": (np.float32(0.5), SR, (AudioError, "expected a path"), None),
    "8_kHz": (tone(0.2, 8000), 8000, OK, int(0.2 * SR)),
    "192_kHz": (tone(0.05, 192000), 192000, OK, int(0.05 * SR)),
    "amplitude_1e6": (x * 1e6, SR, OK, len(x)),
    "sr_zero": (x, 0, (AudioError, "sample rate"), None),
    "sr_negative": (x, -16000, (AudioError, "sample rate"), None),
    "sr_float": (x, 16000.5, (AudioError, "sample rate"), None),
    "python_list": ([0.1, 0.2, 0.3], SR, (AudioError, "expected a path"), None),
    "empty_list": ([], SR, (AudioError, "non-empty"), None),
}


@pytest.mark.parametrize("case", list(ARRAY_CASES))
def test_array_inputs(codec, case):
    array, sr, expected, length = ARRAY_CASES[case]
    if expected == OK:
        tokens = codec.tokenize(array, sr=sr)
        _codes_ok(codec, tokens, length)
        audio = codec.detokenize(tokens)[0]
        assert audio.shape[-1] == tokens.lengths[0] and bool(torch.isfinite(audio).all())
    else:
        cls, words = expected
        with pytest.raises(cls, match=None) as info:
            codec.tokenize(array, sr=sr)
        assert words.lower() in str(info.value).lower() and "\n" not in str(info.value)


@fuzz(20)
@given(
    array=hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8, np.int64]),
        shape=st.one_of(
            hnp.array_shapes(min_dims=1, max_dims=1, min_side=0, max_side=3000),
            st.tuples(st.integers(1, 3), st.integers(0, 2000)),
        ),
    ),
    sr=st.sampled_from([8000, 24000, 44100]),
)
def test_any_array_codes_or_raises_audio_error(codec, array, sr):
    """Whatever the array holds (NaN, huge values, odd dtypes, no samples), tokenize codes it in range or
    raises AudioError: never another exception."""
    try:
        tokens = codec.tokenize(array, sr=sr)
    except AudioError as e:
        assert str(e) and "\n" not in str(e)
        return
    _codes_ok(codec, tokens)


# -- files ------------------------------------------------------------------------------------------------
def _write(path, kind: str):
    """Write the file of case `kind` at `path` (named by the case's suffix)."""
    if kind == "zero_samples":
        sf.write(path, np.zeros(0, np.float32), SR)
    elif kind == "one_sample":
        sf.write(path, np.array([0.25], np.float32), SR)
    elif kind == "nan":
        sf.write(path, np.where(np.arange(4800) == 10, np.nan, tone(0.2)).astype(np.float32), SR, subtype="FLOAT")
    elif kind == "inf":
        sf.write(path, np.where(np.arange(4800) == 10, np.inf, tone(0.2)).astype(np.float32), SR, subtype="FLOAT")
    elif kind == "pcm16":
        sf.write(path, tone(0.2), SR, subtype="PCM_16")
    elif kind == "pcm32":
        sf.write(path, tone(0.2), SR, subtype="PCM_32")
    elif kind == "float64":
        sf.write(path, tone(0.2).astype(np.float64), SR, subtype="DOUBLE")
    elif kind == "8_channels":
        sf.write(path, np.stack([tone(0.2)] * 8, axis=1), SR)
    elif kind == "8_kHz":
        sf.write(path, tone(0.2, 8000), 8000)
    elif kind == "192_kHz":
        sf.write(path, tone(0.05, 192000), 192000)
    elif kind == "amplitude_1e6":
        sf.write(path, tone(0.2) * 1e6, SR, subtype="FLOAT")
    elif kind == "truncated_data":
        sf.write(path, tone(0.2), SR, subtype="PCM_16")
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])  # the header still says 4800 frames
    elif kind == "truncated_header":
        sf.write(path, tone(0.2), SR, subtype="PCM_16")
        path.write_bytes(path.read_bytes()[:20])
    elif kind == "text_named_wav":
        path.write_text("this is not audio\n")
    elif kind == "empty_file":
        path.write_bytes(b"")
    elif kind == "flac_named_wav":
        tmp = path.with_suffix(".flac")
        sf.write(tmp, tone(0.2), SR)
        tmp.rename(path)
    elif kind == "directory":
        path.mkdir()
        (path / "inner.txt").write_text("x")
    elif kind == "missing":
        pass
    else:
        raise AssertionError(kind)


FILE_CASES = {
    # id: (expected: OK with length at the codec rate, or words of the error)
    "zero_samples": ["zero-length"],
    "one_sample": 1,
    "nan": ["NaN"],
    "inf": ["Inf"],
    "pcm16": 4800,
    "pcm32": 4800,
    "float64": 4800,
    "8_channels": 4800,
    "8_kHz": 4800,
    "192_kHz": 1200,
    "amplitude_1e6": 4800,
    "truncated_data": None,  # codes what the file holds (libsndfile stops at its end)
    "truncated_header": ["cannot read audio file"],
    "text_named_wav": ["cannot read audio file"],
    "empty_file": ["cannot read audio file"],
    "flac_named_wav": 4800,  # read by content, not by name
    "directory": ["directory"],
    "missing": ["not found"],
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_file_inputs_api(codec, tmp_path, case):
    path = tmp_path / f"{case}.wav"
    _write(path, case)
    expected = FILE_CASES[case]
    if isinstance(expected, list):
        with pytest.raises(AudioError) as info:
            codec.tokenize(path)
        msg = str(info.value)
        assert "\n" not in msg and all(w.lower() in msg.lower() for w in expected), msg
        assert str(path) in msg
    else:
        tokens = codec.tokenize(path)
        _codes_ok(codec, tokens, expected)


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_file_inputs_cli(capsys, model_dir, tmp_path, case):
    src = tmp_path / "in" / f"{case}.wav"
    src.parent.mkdir()
    _write(src, case)
    out = tmp_path / "out"
    o = cli(capsys, "tokenize", src, "--model", model_dir, "--out", out)  # a directory is searched for audio
    expected = FILE_CASES[case]
    token_file = out / f"{case}.tokens.safetensors"
    if isinstance(expected, list):
        words = ["no files ending in"] if case == "directory" else ["input not found"] if case == "missing" else []
        words = words or ["1 of 1 inputs failed", *expected]
        assert_clean_error(o, *words)
        assert not token_file.exists()
    else:
        assert o.rc == 0, o.err
        assert token_file.is_file()
    assert_no_partial_files(out)


@pytest.mark.parametrize(
    "name", ["with space.wav", "quote'single.wav", 'quote"double.wav', "semi;colon$(touch PWNED)`x`.wav", "-dash.wav"]
)
def test_odd_file_names(capsys, model_dir, tmp_path, name, monkeypatch):
    """File names with spaces, quotes and shell metacharacters are names, nothing more."""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in" / name
    src.parent.mkdir()
    sf.write(src, tone(0.1), SR)
    o = cli(capsys, "tokenize", str(src), "--model", model_dir, "--out", tmp_path / "o u t")
    assert o.rc == 0, o.err
    assert (tmp_path / "o u t" / f"{name[:-4]}.tokens.safetensors").is_file()
    assert not any(p.name == "PWNED" for p in tmp_path.rglob("*"))


def test_mixed_batch_names_the_bad_item(codec, wav, tmp_path):
    """In a list, the bad item is named; nothing is returned half-done."""
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    with pytest.raises(AudioError, match="bad.wav"):
        codec.tokenize([wav, bad])
    with pytest.raises(AudioError, match="input 1"):
        codec.tokenize([tone(0.1), np.array([np.nan], np.float32)], sr=SR)


def test_tokenize_errors_are_codeckit_errors(codec):
    """Every refusal above is a CodeckitError (one except clause catches them all)."""
    with pytest.raises(CodeckitError):
        codec.tokenize(np.zeros(0, np.float32), sr=SR)


OPTION_CASES = {
    # id: (extra argv, words of the error)
    "jobs_zero": (["--jobs", "0"], ["--jobs must be >= 1"]),
    "threads_negative": (["--threads", "-1"], ["--threads must be >= 1"]),
    "chunk_seconds_zero": (["--chunk-seconds", "0"], ["--chunk-seconds"]),
    "chunk_seconds_nan": (["--chunk-seconds", "nan"], ["--chunk-seconds"]),
    "chunk_seconds_inf": (["--chunk-seconds", "inf"], ["--chunk-seconds"]),
    "context_seconds_negative": (["--context-seconds", "-1"], ["--context-seconds"]),
    "n_quantizers_too_many": (["--n-quantizers", "9"], ["n_quantizers must be in 1..3"]),
    "n_quantizers_zero": (["--n-quantizers", "0"], ["n_quantizers must be in 1..3"]),
    "model_missing": (["--model", "/nonexistent/model"], ["model directory not found"]),
    "model_bad_name": (
        ["--model", "not-in-cache", "--cache-dir", "/nonexistent"],
        ["no model directory 'not-in-cache'"],
    ),
    "out_is_a_file": (["--out", "{file}"], ["1 of 1 inputs failed", "File exists"]),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_tokenize_options(capsys, model_dir, wav, tmp_path, case):
    extra, words = OPTION_CASES[case]
    (tmp_path / "file").write_text("x")
    extra = [a.replace("{file}", str(tmp_path / "file")) for a in extra]
    argv = ["tokenize", wav, "--model", model_dir, "--out", tmp_path / "out", *extra]  # later options win
    assert_clean_error(cli(capsys, *argv), *words)
    assert not list((tmp_path / "out").rglob("*.tokens.safetensors")) if (tmp_path / "out").exists() else True
