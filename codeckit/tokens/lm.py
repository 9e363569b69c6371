"""Layouts of published speech LMs: codec codes <-> the id streams those LMs read and write, exactly inverse.

Two shapes cover them (each preset lives in its own file and names the function it reproduces):

- `FlatLayout`: one id per LM step. Each coarse frame is flattened (`multiscale.flatten`) and slot j of
  the frame gets its own id range (`AudioVocab.encode_flat`): Orpheus (7 SNAC slots), Llasa (1 X-Codec2 code).
- `DelayedLayout`: one id per stream per LM step. Stream j carries slot j of every coarse frame, shifted
  right by `delays[j]` steps (`delay.delay`) and offset into its own id range: Mini-Omni (7 SNAC slots,
  delays 1..7), Moshi (8 Mimi levels, acoustic delay 1).

`layout.parser()` reads LM output incrementally: push ids as the LM emits them, get the codes of every
coarse frame completed so far. Ids that do not fit raise `TokenError` naming the position and the value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from codeckit.tokens.check import check_range
from codeckit.tokens.delay import delay, undelay
from codeckit.tokens.errors import TokenError
from codeckit.tokens.multiscale import Order, flatten, slot_levels, unflatten
from codeckit.tokens.vocab import AudioVocab


def as_ids(ids: object, what: str = "ids") -> torch.Tensor:
    """LM ids (tensor, array or nested list) as an int64 tensor; floats and other types raise TokenError."""
    t = ids if isinstance(ids, torch.Tensor) else torch.as_tensor(np.asarray(ids))
    if t.numel() == 0:
        return t.long()  # an empty list is float to numpy
    if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
        raise TokenError(f"{what} must be integers, got {t.dtype}")
    return t.long()


class LMLayout(ABC):
    """What every preset declares: codec levels it carries, their codes per coarse frame, and its marker ids."""

    def __init__(
        self,
        name: str,
        ratios: Sequence[int],
        codebook_sizes: Sequence[int],
        order: Order = "depth",
        control_ids: Iterable[int] = (),
    ):
        self.name = name
        self.ratios = tuple(int(r) for r in ratios)
        self.codebook_sizes = tuple(int(s) for s in codebook_sizes)
        self.order: Order = order
        self.control_ids = frozenset(int(i) for i in control_ids)
        if len(self.ratios) != len(self.codebook_sizes) or not self.ratios:
            raise TokenError(f"{name}: ratios {self.ratios} and codebook sizes {self.codebook_sizes} must pair up")
        self.slot_levels = slot_levels(self.ratios, order)  # the codec level of each slot of a flattened frame

    @property
    def n_levels(self) -> int:
        return len(self.ratios)

    @property
    def frame_slots(self) -> int:
        """Codes per coarse frame (all levels)."""
        return sum(self.ratios)

    @abstractmethod
    def encode(self, codes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Codes per level `(B, F*r_l)` or `(F*r_l,)` -> the LM's ids."""

    @abstractmethod
    def decode(self, ids: object, strict: bool = True, start: int = 0) -> list[torch.Tensor]:
        """The LM's ids -> codes per level; `start` shifts the positions named in errors."""

    @abstractmethod
    def parser(self, skip_control: bool = True) -> LayoutParser:
        """An incremental reader of this layout's LM output."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, ratios={list(self.ratios)})"


class FlatLayout(LMLayout):
    """One id per step; frame slot j's code c becomes `vocab.offsets[slots[j]] + c`."""

    def __init__(
        self,
        name: str,
        ratios: Sequence[int],
        vocab: AudioVocab,
        slots: Sequence[int],
        order: Order = "depth",
        control_ids: Iterable[int] = (),
    ):
        if len(slots) != sum(ratios):
            raise TokenError(f"{name}: {len(slots)} slot ranges for {sum(ratios)} codes per frame")
        levels = slot_levels(ratios, order)
        sizes = [vocab.codebook_sizes[int(slots[levels.index(level)])] for level in range(len(ratios))]
        super().__init__(name, ratios, sizes, order, control_ids)
        self.vocab, self.slots = vocab, [int(s) for s in slots]

    def encode(self, codes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Codes -> `(B, F*frame_slots)` ids (1-D for 1-D levels), frame after frame."""
        check_range(codes, self.codebook_sizes)
        return self.vocab.encode_flat(flatten(codes, self.ratios, self.order), self.slots)

    def decode(self, ids: object, strict: bool = True, start: int = 0) -> list[torch.Tensor]:
        """`(B, N)` or `(N,)` ids, N a multiple of `frame_slots` -> codes per level (`strict` is unused)."""
        x = as_ids(ids)
        n = self.frame_slots
        if x.dim() not in (1, 2) or x.shape[-1] % n:
            raise TokenError(f"{self.name}: ids of shape {tuple(x.shape)} are not whole frames of {n} ids")
        slot = torch.arange(x.shape[-1]) % n
        offsets = torch.tensor([self.vocab.offsets[s] for s in self.slots])[slot]
        sizes = torch.tensor([self.codebook_sizes[lvl] for lvl in self.slot_levels])[slot]
        codes = x - offsets
        bad = (codes < 0) | (codes >= sizes)
        if bool(bad.any()):
            where = tuple(int(v) for v in bad.nonzero()[0])
            j = where[-1]
            lo = int(offsets[j])
            raise TokenError(
                f"{self.name}: id {int(x[where])} at position {start + j}"
                f"{f' of item {where[0]}' if x.dim() == 2 else ''} is not a slot-{j % n} audio id "
                f"({lo}..{lo + int(sizes[j]) - 1})"
            )
        return unflatten(codes, self.ratios, self.order)

    def parser(self, skip_control: bool = True) -> FlatParser:
        return FlatParser(self, skip_control)


class DelayedLayout(LMLayout):
    """One id per stream per step: stream j holds frame slot j, `delays[j]` steps late, at `offsets[j] + code`.

    Steps before a stream's first code and after its last hold `offsets[j] + pad`.
    """

    def __init__(
        self,
        name: str,
        ratios: Sequence[int],
        codebook_sizes: Sequence[int],
        delays: Sequence[int],
        pad: int,
        offsets: Sequence[int],
        order: Order = "depth",
        control_ids: Iterable[int] = (),
    ):
        super().__init__(name, ratios, codebook_sizes, order, control_ids)
        self.delays, self.pad, self.offsets = [int(d) for d in delays], int(pad), [int(o) for o in offsets]
        if len(self.delays) != self.frame_slots or len(self.offsets) != self.frame_slots:
            raise TokenError(f"{name}: need one delay and one offset for each of the {self.frame_slots} streams")
        if any(0 <= self.pad < self.codebook_sizes[lvl] for lvl in self.slot_levels):
            raise TokenError(f"{name}: pad {self.pad} collides with codes 0..{max(self.codebook_sizes) - 1}")

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    def encode(self, codes: Sequence[torch.Tensor]) -> torch.Tensor:
        """Codes -> `(B, streams, F + max_delay)` ids (`(streams, steps)` for 1-D levels)."""
        check_range(codes, self.codebook_sizes)
        flat = flatten(codes, self.ratios, self.order)
        batch = flat if flat.dim() == 2 else flat[None]
        grid = batch.reshape(batch.shape[0], -1 if batch.numel() else 0, self.frame_slots)
        out = delay(list(grid.unbind(2)), self.pad, self.delays) + torch.tensor(self.offsets)[:, None]
        return out if flat.dim() == 2 else out[0]

    def decode(self, ids: object, strict: bool = True, start: int = 0) -> list[torch.Tensor]:
        """`(B, streams, steps)` or `(streams, steps)` ids -> codes per level.

        With `strict`, steps outside each stream's codes must hold its pad id; pass False for LM output whose
        pad steps were sampled freely (or a window that starts mid-stream, as the parser reads).
        """
        x = as_ids(ids)
        squeeze = x.dim() == 2
        x = x[None] if squeeze else x
        if x.dim() != 3 or x.shape[1] != self.frame_slots:
            raise TokenError(f"{self.name}: ids must be ({self.frame_slots} streams, steps), got {tuple(x.shape)}")
        raw = x - torch.tensor(self.offsets)[:, None]
        try:
            streams = undelay(raw, self.pad, self.delays, strict=strict)
        except TokenError as e:
            raise TokenError(f"{self.name}: {e} (values minus each stream's offset {self.offsets})") from None
        for j, (c, d) in enumerate(zip(streams, self.delays)):
            size = self.codebook_sizes[self.slot_levels[j]]
            bad = (c < 0) | (c >= size)
            if bool(bad.any()):
                item, f = (int(v) for v in bad.nonzero()[0])
                raise TokenError(
                    f"{self.name}: id {int(c[item, f]) + self.offsets[j]} of stream {j} at step {start + f + d}"
                    f"{f' of item {item}' if not squeeze else ''} is not an audio id "
                    f"({self.offsets[j]}..{self.offsets[j] + size - 1})"
                )
        flat = torch.stack(streams, dim=2).reshape(x.shape[0], streams[0].shape[1] * self.frame_slots)
        return unflatten(flat[0] if squeeze else flat, self.ratios, self.order)

    def parser(self, skip_control: bool = True) -> DelayedParser:
        return DelayedParser(self)


class LayoutParser(ABC):
    """Incremental reader: `push(ids)` returns the codes (1-D per level) of every coarse frame it completes."""

    def __init__(self, layout: LMLayout):
        self.layout = layout
        self.frames = 0  # coarse frames returned so far

    @abstractmethod
    def push(self, ids: object) -> list[torch.Tensor]: ...

    @property
    @abstractmethod
    def pending(self) -> int:
        """Ids (or steps) held back because their frame is not complete yet."""

    def _none(self) -> list[torch.Tensor]:
        return [torch.zeros(0, dtype=torch.long) for _ in self.layout.ratios]


class FlatParser(LayoutParser):
    """Reads a flat layout id by id; with `skip_control`, the layout's marker ids are dropped first."""

    def __init__(self, layout: FlatLayout, skip_control: bool = True):
        super().__init__(layout)
        self.skip = layout.control_ids if skip_control else frozenset()
        self.buffer = torch.zeros(0, dtype=torch.long)
        self.position = 0  # audio ids consumed before the buffer

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def push(self, ids: object) -> list[torch.Tensor]:
        """Append ids (a scalar or 1-D); returns the codes of the frames they complete."""
        x = as_ids(ids).reshape(-1)
        if self.skip and len(x):
            x = x[~torch.isin(x, torch.tensor(sorted(self.skip)))]
        self.buffer = torch.cat([self.buffer, x])
        n = self.layout.frame_slots
        take = len(self.buffer) // n * n
        if not take:
            return self._none()
        codes = self.layout.decode(self.buffer[:take], start=self.position)
        self.buffer, self.position = self.buffer[take:], self.position + take
        self.frames += take // n
        return codes


class DelayedParser(LayoutParser):
    """Reads a delayed layout step by step; frame f is complete once step f + max_delay is in."""

    def __init__(self, layout: DelayedLayout):
        super().__init__(layout)
        self.buffer = torch.zeros(layout.frame_slots, 0, dtype=torch.long)  # steps from `self.frames` on

    @property
    def pending(self) -> int:
        return self.buffer.shape[1]

    def push(self, ids: object) -> list[torch.Tensor]:
        """Append `(streams,)` (one step) or `(streams, n)` ids; returns the codes of the frames they complete."""
        x = as_ids(ids)
        x = x[:, None] if x.dim() == 1 else x
        if x.dim() != 2 or x.shape[0] != self.layout.frame_slots:
            raise TokenError(
                f"{self.layout.name}: push ({self.layout.frame_slots},) or ({self.layout.frame_slots}, steps) ids, "
                f"got {tuple(x.shape)}"
            )
        self.buffer = torch.cat([self.buffer, x], dim=1)
        ready = self.buffer.shape[1] - self.layout.max_delay
        if ready <= 0:
            return self._none()
        window = self.buffer[:, : ready + self.layout.max_delay]
        codes = self.layout.decode(window, strict=False, start=self.frames)
        self.buffer, self.frames = self.buffer[:, ready:], self.frames + ready
        return codes
