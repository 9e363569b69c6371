"""Token files round-trip codes and header exactly and refuse damaged or inconsistent files."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from codeckit.tokens import TokenError, TokenHeader, identity_hash, load_tokens, save_tokens


def _header(**kw):
    base = dict(
        codec_id="ab" * 32,
        sample_rate=24000,
        channels=1,
        levels=3,
        hop_lengths=[2048, 1024, 512],
        frame_rates=[24000 / 2048, 24000 / 1024, 24000 / 512],
        codebook_sizes=[4096, 4096, 4096],
        n_quantizers=3,
        length=5000,
    )
    base.update(kw)
    return TokenHeader(**base)


def _codes(n_coarse=3, levels=3, high=4096, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, high, (n_coarse * 2**level,), generator=g) for level in range(levels)]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3),
    size=st.sampled_from([2, 1024, 4096, 32768, 65536, 2**20]),
    length=st.integers(1, 3 * 2048),
    seed=st.integers(0, 1000),
)
def test_round_trip(tmp_path_factory, n, size, length, seed):
    path = tmp_path_factory.mktemp("tok") / "a.tokens.safetensors"
    header = _header(n_quantizers=n, codebook_sizes=[size] * 3, length=length, source="utt1", source_sample_rate=16000)
    codes = _codes(levels=n, high=size, seed=seed)
    save_tokens(path, codes, header)
    got = load_tokens(path)
    assert got.header == header
    assert all(a.dtype == torch.int64 and torch.equal(a, b) for a, b in zip(got.codes, codes))


def test_small_storage_type(tmp_path):
    path = save_tokens(tmp_path / "a.tokens.safetensors", _codes(n_coarse=200), _header(length=200 * 2048))
    assert path.stat().st_size < 200 * 7 * 2 + 4096  # int16 codes plus the header


def test_refuses_out_of_range_on_save_and_load(tmp_path):
    codes = _codes()
    codes[2][5] = 4096
    with pytest.raises(TokenError, match=r"code 4096 at level 2, item 0, frame 5 is outside the codebook \(0..4095\)"):
        save_tokens(tmp_path / "x.tokens.safetensors", codes, _header())
    # The same damage written behind save_tokens' back is found on load.
    good = tmp_path / "good.tokens.safetensors"
    save_tokens(good, _codes(), _header())
    meta = {"format": "codeckit.tokens", "version": "1", "header": json.dumps(_header().__dict__)}
    save_file({f"codes.{i}": c.to(torch.int16) for i, c in enumerate(codes)}, str(tmp_path / "bad.st"), meta)
    with pytest.raises(TokenError, match="level 2, item 0, frame 5"):
        load_tokens(tmp_path / "bad.st")


@pytest.mark.parametrize(
    "tensors, meta, message",
    [
        ({"x": torch.zeros(2)}, {"format": "other"}, "not a codeckit token file"),
        ({"codes.0": torch.zeros(3, dtype=torch.int16)}, {"format": "codeckit.tokens", "version": "9"}, "version 9"),
        ({"codes.0": torch.zeros(3, dtype=torch.int16)}, {"format": "codeckit.tokens", "version": "1"}, "bad header"),
    ],
)
def test_refuses_foreign_files(tmp_path, tensors, meta, message):
    save_file(tensors, str(tmp_path / "f.st"), meta)
    with pytest.raises(TokenError, match=message):
        load_tokens(tmp_path / "f.st")


def test_refuses_inconsistent_header(tmp_path):
    p = tmp_path / "x.tokens.safetensors"
    with pytest.raises(TokenError, match="header says 2 active levels, the file holds 3"):
        save_tokens(p, _codes(), _header(n_quantizers=2))
    with pytest.raises(TokenError, match="need at least 4 frames"):
        save_tokens(p, _codes(), _header(length=4 * 2048))
    with pytest.raises(TokenError, match="levels cover different spans"):
        save_tokens(p, [c[:-1] if i == 1 else c for i, c in enumerate(_codes())], _header(length=10))
    (tmp_path / "junk.tokens.safetensors").write_bytes(b"not a file")
    with pytest.raises(TokenError, match="not a readable safetensors token file"):
        load_tokens(tmp_path / "junk.tokens.safetensors")
    with pytest.raises(TokenError, match="token file not found"):
        load_tokens(tmp_path / "missing.tokens.safetensors")


def test_unknown_header_key_is_named(tmp_path):
    meta = {"format": "codeckit.tokens", "version": "1", "header": json.dumps({**_header().__dict__, "colour": 1})}
    save_file({f"codes.{i}": c.to(torch.int16) for i, c in enumerate(_codes())}, str(tmp_path / "f.st"), meta)
    with pytest.raises(TokenError, match="unknown key 'header.colour'"):
        load_tokens(tmp_path / "f.st")


def test_identity_hash_sees_config_and_every_weight():
    state = {"a.weight": torch.randn(4, 3), "b.bias": torch.zeros(2, dtype=torch.bfloat16), "n": torch.tensor(3)}
    base = identity_hash({"sample_rate": 24000}, state)
    assert base == identity_hash({"sample_rate": 24000}, {k: v.clone() for k, v in state.items()})
    assert len(base) == 64
    assert base != identity_hash({"sample_rate": 16000}, state)
    for name in state:
        changed = dict(state)
        changed[name] = state[name] + 1
        assert base != identity_hash({"sample_rate": 24000}, changed), name
    renamed = {("c.bias" if k == "b.bias" else k): v for k, v in state.items()}
    assert base != identity_hash({"sample_rate": 24000}, renamed)
