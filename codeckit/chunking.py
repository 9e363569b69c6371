"""Integer chunk plans for coding a long signal piece by piece: one planner for the PyTorch API and the ONNX runner.

A plan is a list of `Window`s in absolute sample positions: run the model on [start, stop) and keep the part
[keep_from, keep_to) of its output. Two schemes:

- carried state (`state_windows`): consecutive chunks, each kept whole; a streaming model carries its state
  from one chunk to the next, so the chunks' outputs equal one pass.
- overlap-save (`overlap_windows`): each chunk runs with `context` samples of signal on both sides (fewer at
  the ends) and only the chunk's own part is kept; while the context covers the model's receptive field, the
  kept parts equal one pass.

A planner takes the next chunk's position and the end of the signal seen so far. With `final` that end is the
signal's end; without, only chunks whose right context has arrived are planned, so a stream planned as it
arrives gets the windows of one plan over the whole signal. Positions count samples; codes at `hop` samples
each are addressed with `Window.span(hop)`, exact when chunk, context and signal end are multiples of `hop`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Window:
    """One chunk of a plan: the model runs on samples [start, stop) and keeps [keep_from, keep_to) of its output."""

    start: int
    stop: int
    keep_from: int
    keep_to: int

    def span(self, hop: int = 1, origin: int = 0) -> slice:
        """The entries (one per `hop` samples) to run on, in a buffer whose entry 0 is sample `origin`."""
        return slice((self.start - origin) // hop, (self.stop - origin) // hop)

    def kept(self, hop: int = 1) -> slice:
        """The entries (one per `hop` samples) of the window's output to keep; its entry 0 is sample `start`."""
        return slice((self.keep_from - self.start) // hop, (self.keep_to - self.start) // hop)


def round_up(n: int, multiple: int) -> int:
    """`n` rounded up to a multiple of `multiple` (the zero padding a codec adds to its input)."""
    return -(-n // multiple) * multiple


def overlap_windows(pos: int, end: int, chunk: int, context: int, final: bool) -> list[Window]:
    """Overlap-save windows for chunks of `chunk` samples from `pos`, with the signal known up to `end`."""
    out = []
    while pos < end:
        stop = pos + chunk
        if not final and stop + context > end:
            break
        stop = min(stop, end)
        out.append(Window(max(0, pos - context), min(end, stop + context), pos, stop))
        pos = stop
    return out


def state_windows(pos: int, end: int, chunk: int, final: bool) -> list[Window]:
    """Carried-state windows: chunks of `chunk` samples from `pos` kept whole (the last one shorter when final)."""
    return overlap_windows(pos, end, chunk, 0, final)


def clip(windows: list[Window], length: int) -> list[Window]:
    """The windows that keep samples before `length`, keeping no further (a decoder trimming to the input length)."""
    return [replace(w, keep_to=min(w.keep_to, length)) for w in windows if w.keep_from < length]


def context_start(pos: int, context: int) -> int:
    """First sample a window for the chunk at `pos` reads: what a stream must still hold once `pos` is next."""
    return max(0, pos - context)


def ready_samples(pending: int, chunk: int, minimum: int, final: bool) -> int:
    """Samples a carried-state stream runs in one step now: whole chunks once `minimum` are pending; all at the end."""
    if final:
        return pending
    if pending < minimum:
        return 0
    return pending // chunk * chunk
