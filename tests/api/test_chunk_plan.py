"""The chunk planner (`codeckit.chunking`): every sample and frame is kept exactly once, windows hold their chunk
and its context, and a plan made as a stream arrives equals one plan over the whole signal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeckit.chunking import (
    Window,
    clip,
    context_start,
    overlap_windows,
    ready_samples,
    round_up,
    state_windows,
)

HOPS = [1, 2, 3, 160, 256, 320]


def _kept(windows: list[Window], hop: int) -> list[int]:
    """Entries (one per `hop` samples) kept by the plan, in order, with repeats."""
    return [i for w in windows for i in range(w.keep_from // hop, w.keep_to // hop)]


def _plan(length: int, hop: int, chunk: int, context: int) -> tuple[int, int, int, list[Window]]:
    """The API's plan: chunk and context rounded up to the hop, over the signal zero-padded to the hop."""
    chunk, context = max(hop, round_up(chunk, hop)), round_up(context, hop)
    padded = round_up(length, hop)
    return padded, chunk, context, overlap_windows(0, padded, chunk, context, final=True)


def _check_window(w: Window, end: int, chunk: int, context: int) -> None:
    assert 0 <= w.start <= w.keep_from < w.keep_to <= w.stop <= end
    assert w.keep_to - w.keep_from <= chunk
    assert w.start == max(0, w.keep_from - context) and w.stop == min(end, w.keep_to + context)


@pytest.mark.parametrize("hop", HOPS)
@pytest.mark.parametrize("length", [1, 7, 255, 1001, 4097, 48001])
@pytest.mark.parametrize("chunk, context", [(1000, 0), (1000, 300), (4095, 1), (333, 5000), (100000, 7)])
def test_overlap_plan_keeps_every_sample_and_frame_once(hop, length, chunk, context):
    padded, chunk, context, windows = _plan(length, hop, chunk, context)
    assert _kept(windows, 1) == list(range(padded))
    assert _kept(windows, hop) == list(range(padded // hop))
    for w in windows:
        _check_window(w, padded, chunk, context)
        assert all(v % hop == 0 for v in (w.start, w.stop, w.keep_from, w.keep_to))
        span, kept = w.span(hop), w.kept(hop)
        assert span.stop - span.start == (w.stop - w.start) // hop
        assert span.start + kept.start == w.keep_from // hop and span.start + kept.stop == w.keep_to // hop


@pytest.mark.parametrize("hop", HOPS)
@pytest.mark.parametrize("length", [1, 5, 999, 1000, 1001, 30001])
@pytest.mark.parametrize("chunk", [1, 1000, 1001, 65536])
def test_state_plan_is_consecutive_whole_chunks(hop, length, chunk):
    chunk, padded = max(hop, round_up(chunk, hop)), round_up(length, hop)
    windows = state_windows(0, padded, chunk, final=True)
    assert _kept(windows, hop) == list(range(padded // hop))
    for w in windows:
        assert (w.start, w.stop) == (w.keep_from, w.keep_to) and w.kept(hop) == slice(0, (w.stop - w.start) // hop)
        assert w.stop - w.start == chunk or w is windows[-1]


def test_shorter_than_a_chunk_is_one_window():
    assert overlap_windows(0, 700, 1024, 512, final=True) == [Window(0, 700, 0, 700)]
    assert state_windows(0, 700, 1024, final=True) == [Window(0, 700, 0, 700)]
    assert overlap_windows(0, 700, 1024, 512, final=False) == []
    assert overlap_windows(0, 0, 1024, 512, final=True) == []


@pytest.mark.parametrize("length", [1, 17, 1023, 1024, 1025, 5000, 20481])
@pytest.mark.parametrize("chunk, context", [(1024, 0), (1024, 512), (512, 2048)])
def test_clip_keeps_each_sample_before_the_length_once(length, chunk, context):
    padded = round_up(length, 256)
    for windows in (overlap_windows(0, padded, chunk, context, True), state_windows(0, padded, chunk, True)):
        clipped = clip(windows, length)
        assert _kept(clipped, 1) == list(range(length))
        assert all((w.start, w.stop) == (v.start, v.stop) for w, v in zip(clipped, windows))


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 20000),
    chunk=st.integers(1, 3000),
    context=st.integers(0, 3000),
    pieces=st.lists(st.integers(1, 4000), min_size=1, max_size=30),
)
def test_planning_as_the_signal_arrives_equals_one_plan(length, chunk, context, pieces):
    """Planning after each arriving piece (and then at the end) gives the one-shot plan, and a stream never needs
    input from before `context_start` again."""
    whole = overlap_windows(0, length, chunk, context, final=True)
    got, pos, end, held_from = [], 0, 0, 0
    for n in pieces:
        end = min(length, end + n)
        for w in overlap_windows(pos, end, chunk, context, final=False):
            assert w.keep_to + context <= end  # its right context has arrived
            assert w.start >= held_from
            got.append(w)
            pos = w.keep_to
        held_from = context_start(pos, context)
    got += overlap_windows(pos, length, chunk, context, final=True)
    assert got == whole


@pytest.mark.parametrize(
    "pending, minimum, final, want",
    [(0, 512, False, 0), (511, 512, False, 0), (512, 512, False, 512), (1500, 512, False, 1024), (900, 1024, False, 0),
     (1100, 1024, False, 1024), (700, 1024, True, 700), (0, 512, True, 0)],
)  # fmt: skip
def test_ready_samples_runs_whole_chunks_until_the_end(pending, minimum, final, want):
    assert ready_samples(pending, 512, minimum, final) == want
