"""Every LM layout round-trips exactly (hypothesis over shapes and values) and matches the known orders."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codeckit.tokens import (
    AudioVocab,
    TokenError,
    dedup,
    dedup_codes,
    deinterleave,
    delay,
    flatten,
    interleave,
    ratios_from_strides,
    restore,
    restore_codes,
    slot_levels,
    undelay,
    unflatten,
)

SETTINGS = settings(max_examples=60, deadline=None)


def _codes(seed, batch, frames, ratios, high):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, high, (batch, frames * r), generator=g) for r in ratios]


@st.composite
def tree_ratios(draw):
    """Ratios where each divides the next (what depth order needs), e.g. [1,2,4] or [1,2,4,8] or [3,6]."""
    ratios = [draw(st.integers(1, 3))]
    for _ in range(draw(st.integers(0, 3))):
        ratios.append(ratios[-1] * draw(st.integers(1, 3)))
    return ratios


@SETTINGS
@given(
    ratios=tree_ratios(),
    batch=st.integers(1, 3),
    frames=st.integers(0, 7),
    seed=st.integers(0, 2**31),
    order=st.sampled_from(["depth", "breadth"]),
)
def test_flatten_round_trip(ratios, batch, frames, seed, order):
    codes = _codes(seed, batch, frames, ratios, 1 << 16)
    flat = flatten(codes, ratios, order=order)
    assert flat.shape == (batch, frames * sum(ratios)) and flat.dtype == torch.int64
    back = unflatten(flat, ratios, order=order)
    assert len(back) == len(codes) and all(torch.equal(a, b) for a, b in zip(back, codes))
    # Every coarse frame's codes sit together: the frame's token multiset is its codes from all levels.
    if frames:
        n = sum(ratios)
        got = sorted(flat[0, :n].tolist())
        want = sorted(sum((c[0, :r].tolist() for c, r in zip(codes, ratios)), []))
        assert got == want


@SETTINGS
@given(ratios=st.lists(st.integers(1, 5), min_size=1, max_size=4), frames=st.integers(1, 5), seed=st.integers(0, 99))
def test_breadth_flatten_any_integer_ratios_round_trip_1d(ratios, frames, seed):
    codes = [c[0] for c in _codes(seed, 1, frames, ratios, 100)]
    # Ratios are inferred from the shapes when the first level has one code per coarse frame.
    flat = flatten(codes, None if ratios[0] == 1 else ratios, order="breadth")
    assert flat.dim() == 1
    assert all(torch.equal(a, b) for a, b in zip(unflatten(flat, ratios, order="breadth"), codes))


def test_depth_order_is_orpheus_snac_order():
    """Orpheus / Mini-Omni: per coarse frame l0[i], l1[2i], l2[4i], l2[4i+1], l1[2i+1], l2[4i+2], l2[4i+3]."""
    codes = _codes(1, 1, 5, [1, 2, 4], 4096)
    l0, l1, l2 = (c[0].tolist() for c in codes)
    ref = []
    for i in range(5):
        ref += [l0[i], l1[2 * i], l2[4 * i], l2[4 * i + 1], l1[2 * i + 1], l2[4 * i + 2], l2[4 * i + 3]]
    assert flatten(codes)[0].tolist() == ref
    assert slot_levels([1, 2, 4]) == [0, 1, 2, 2, 1, 2, 2]
    assert slot_levels([1, 2, 4], "breadth") == [0, 1, 1, 2, 2, 2, 2]
    assert ratios_from_strides([4, 2, 1]) == [1, 2, 4] and ratios_from_strides([8, 4, 2, 1]) == [1, 2, 4, 8]


def test_flatten_errors():
    with pytest.raises(TokenError, match="level 1 has 5 frames"):
        flatten([torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 5, dtype=torch.long)], [1, 2])
    with pytest.raises(TokenError, match="not a multiple of 7"):
        unflatten(torch.zeros(1, 13, dtype=torch.long), [1, 2, 4])
    with pytest.raises(TokenError, match="each ratio to divide the next"):
        flatten(_codes(0, 1, 2, [2, 3], 10), [2, 3])
    with pytest.raises(TokenError, match="must be integers"):
        flatten([torch.zeros(1, 2)], [1])


@SETTINGS
@given(levels=st.integers(1, 9), batch=st.integers(1, 3), frames=st.integers(0, 9), seed=st.integers(0, 2**31))
def test_interleave_round_trip(levels, batch, frames, seed):
    codes = _codes(seed, batch, frames, [1] * levels, 1024)
    flat = interleave(codes)
    assert flat.shape == (batch, frames * levels)
    if frames:
        assert flat[0, :levels].tolist() == [c[0, 0].item() for c in codes]  # frame-major
    assert all(torch.equal(a, b) for a, b in zip(deinterleave(flat, levels), codes))
    one = interleave([c[0] for c in codes])
    assert all(torch.equal(a, b[0]) for a, b in zip(deinterleave(one, levels), codes))


def test_interleave_refuses_unequal_rates():
    with pytest.raises(TokenError, match="equal frame counts"):
        interleave(_codes(0, 1, 2, [1, 2], 10))


@SETTINGS
@given(
    levels=st.integers(1, 8),
    batch=st.integers(1, 3),
    frames=st.integers(0, 9),
    seed=st.integers(0, 2**31),
    custom=st.booleans(),
    data=st.data(),
)
def test_delay_round_trip(levels, batch, frames, seed, custom, data):
    codes = _codes(seed, batch, frames, [1] * levels, 1024)
    delays = data.draw(st.lists(st.integers(0, 4), min_size=levels, max_size=levels)) if custom else None
    d = list(range(levels)) if delays is None else delays
    out = delay(codes, pad=1024, delays=delays)
    assert out.shape == (batch, levels, frames + max(d))
    for k in range(levels):
        assert torch.equal(out[:, k, d[k] : d[k] + frames], codes[k])
        assert bool((out[:, k, : d[k]] == 1024).all()) and bool((out[:, k, d[k] + frames :] == 1024).all())
    back = undelay(out, pad=1024, delays=delays)
    assert all(torch.equal(a, b) for a, b in zip(back, codes))


def test_delay_musicgen_pattern_and_errors():
    codes = [torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6]), torch.tensor([7, 8, 9])]
    p = 10
    assert delay(codes, pad=p).tolist() == [[1, 2, 3, p, p], [p, 4, 5, 6, p], [p, p, 7, 8, 9]]
    with pytest.raises(TokenError, match="level 1, item 0, frame 2 equals the pad id 6"):
        delay(codes, pad=6)
    bad = delay(codes, pad=p)
    bad[2, 0] = 3
    with pytest.raises(TokenError, match="level 2, item 0, step 0 should be the pad id"):
        undelay(bad, pad=p)
    assert [c.tolist() for c in undelay(bad, pad=p, strict=False)] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


@SETTINGS
@given(
    sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=5),
    text=st.integers(0, 200000),
    n_special=st.integers(0, 4),
    frames=st.integers(0, 6),
    seed=st.integers(0, 2**31),
)
def test_vocab_round_trip(sizes, text, n_special, frames, seed):
    vocab = AudioVocab(tuple(sizes), text_vocab_size=text, specials=tuple(f"s{i}" for i in range(n_special)))
    g = torch.Generator().manual_seed(seed)
    codes = [torch.randint(0, s, (2, frames), generator=g) for s in sizes]
    ids = vocab.encode(codes)
    for level, i in enumerate(ids):
        assert bool(((i >= vocab.offsets[level]) & (i < vocab.offsets[level] + sizes[level])).all())
        assert bool((vocab.level_of(i) == level).all())
    assert all(torch.equal(a, b) for a, b in zip(vocab.decode(ids), codes))
    assert vocab.size == text + n_special + sum(sizes)
    assert sorted(vocab.special_ids.values()) == list(range(text, text + n_special))
    assert vocab.level_of(torch.tensor([0, vocab.size])).tolist()[1] == -1
    # Flattened sequences: offsets follow each slot's level.
    flat = interleave(codes)
    shifted = vocab.encode_flat(flat, range(len(sizes)))
    assert torch.equal(shifted, interleave(ids))
    assert torch.equal(vocab.decode_flat(shifted, range(len(sizes))), flat)


def test_vocab_snac_flat_and_errors():
    vocab = AudioVocab((4096, 4096, 4096), text_vocab_size=128256, specials=("pad", "bos", "eos"))
    codes = _codes(3, 1, 4, [1, 2, 4], 4096)
    slots = slot_levels([1, 2, 4])
    ids = vocab.encode_flat(flatten(codes), slots)
    assert torch.equal(vocab.level_of(ids)[0, :7], torch.tensor(slots))
    back = unflatten(vocab.decode_flat(ids, slots), [1, 2, 4])
    assert all(torch.equal(a, b) for a, b in zip(back, codes))
    with pytest.raises(TokenError, match="level 1, item 0, frame 3 is outside the codebook"):
        vocab.encode([codes[0], codes[1].index_fill(1, torch.tensor([3]), 4096), codes[2]])
    wrong = ids.clone()
    wrong[0, 1] = vocab.offsets[2]  # a level-2 id where level 1 belongs
    with pytest.raises(TokenError, match=r"position \(0, 1\) is not a level-1 id"):
        vocab.decode_flat(wrong, slots)


@SETTINGS
@given(
    values=st.lists(st.integers(0, 3), max_size=40),
    max_run=st.one_of(st.none(), st.integers(1, 5)),
)
def test_dedup_round_trip(values, max_run):
    seq = torch.tensor(values, dtype=torch.long)
    runs = dedup(seq, max_run=max_run)
    assert torch.equal(restore(runs), seq)
    assert int(runs.counts.sum()) == len(values)
    if max_run is not None:
        assert bool((runs.counts <= max_run).all())
    else:  # no two neighbouring runs share a value
        assert not bool((runs.values[1:] == runs.values[:-1]).any())


@SETTINGS
@given(
    levels=st.integers(1, 4),
    batch=st.integers(1, 3),
    frames=st.integers(1, 20),
    seed=st.integers(0, 2**31),
    max_run=st.one_of(st.none(), st.integers(1, 4)),
)
def test_dedup_codes_round_trip(levels, batch, frames, seed, max_run):
    codes = _codes(seed, batch, frames, [1] * levels, 2)  # few values: many repeats
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(0, frames + 1, (batch,), generator=g).tolist()
    runs = dedup_codes(codes, lengths=lengths, max_run=max_run)
    back, got = restore_codes(runs, pad=-1)
    assert got == lengths
    for a, c in zip(back, codes):
        for i, n in enumerate(lengths):
            assert torch.equal(a[i, :n], c[i, :n]) and bool((a[i, n:] == -1).all())


def test_dedup_known_example():
    runs = dedup(torch.tensor([5, 5, 5, 2, 2, 7, 5, 5]))
    assert runs.values.tolist() == [5, 2, 7, 5] and runs.counts.tolist() == [3, 2, 1, 2]
    capped = dedup(torch.tensor([5, 5, 5, 5, 5]), max_run=2)
    assert capped.values.tolist() == [5, 5, 5] and capped.counts.tolist() == [2, 2, 1]
    with pytest.raises(TokenError, match="run 1 has count 0"):
        restore(type(runs)(torch.tensor([1, 2]), torch.tensor([1, 0])))
