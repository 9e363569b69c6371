"""Coding one long item chunk by chunk, as planned by `codeckit.chunking`, with bounded memory.

Encoders and decoders that stream exactly (`codeckit.nn.streaming.streams_exactly`) run chunk after chunk with
carried state; others run overlap-save windows with `context` samples on both sides. See `codeckit.api` for the
guarantees.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from codeckit.chunking import Window, clip, context_start, overlap_windows, round_up, state_windows
from codeckit.codecs.base import Codec
from codeckit.nn.streaming import streaming, streams_exactly


class GrowingCodes:
    """A 1-D int64 buffer that doubles when full: codes of a long item without thousands of small tensors.

    Keeping one small tensor per chunk pins small heap blocks between the freed activations, and glibc's heap
    then grows with the audio's length; a few large buffers do not fragment it.
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._data = torch.empty(capacity, dtype=torch.long)
        self._size = 0

    def append(self, codes: torch.Tensor) -> None:
        """Add `codes` (any shape, flattened) at the end."""
        end = self._size + codes.numel()
        if end > self._data.numel():
            grown = torch.empty(max(end, 2 * self._data.numel()), dtype=torch.long)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = codes.reshape(-1)
        self._size = end

    def tensor(self) -> torch.Tensor:
        """The codes appended so far, as a tensor of their own."""
        return self._data[: self._size].clone()


class AudioSource:
    """One item's audio, read block by block and held from `start` on: the part later windows still read."""

    def __init__(self, head: torch.Tensor, blocks: Iterator[torch.Tensor]) -> None:
        self.audio, self.start, self.blocks, self.ended = head, 0, blocks, False

    @property
    def end(self) -> int:
        """Samples read so far (the item's length once `ended`)."""
        return self.start + self.audio.shape[-1]

    def fill(self, until: int) -> bool:
        """Read blocks until `until` samples are in or the input runs out; whether it ran out."""
        while not self.ended and self.end < until:
            block = next(self.blocks, None)
            if block is None:
                self.ended = True
            else:
                self.audio = torch.cat([self.audio, block], dim=-1)
        return self.ended

    def window(self, w: Window) -> torch.Tensor:
        """Samples [w.start, w.stop) as `(channels, n)`, zeros past the item's end (as a single pass pads)."""
        x = self.audio[:, w.span(origin=self.start)]
        missing = w.stop - w.start - x.shape[-1]
        return F.pad(x, (0, missing)) if missing > 0 else x

    def drop_before(self, pos: int) -> None:
        """Forget the samples before `pos`."""
        self.audio, self.start = self.audio[:, pos - self.start :], pos


def encode_overlap(
    codec: Codec, source: AudioSource, n: int, chunk: int, context: int, device: torch.device
) -> tuple[list[torch.Tensor], int]:
    """Overlap-save encoding of one long item: (1-D codes per level, length in samples)."""
    out = [GrowingCodes() for _ in range(n)]
    pos = 0
    while True:
        ended = source.fill(pos + chunk + context)
        end = round_up(source.end, codec.pad_multiple) if ended else source.end
        for w in overlap_windows(pos, end, chunk, context, ended):
            codes = codec.encode(source.window(w)[None].to(device), n)
            for level, (c, hop) in enumerate(zip(codes, codec.hop_lengths)):
                out[level].append(c[0, w.kept(hop)].cpu())
            pos = w.keep_to
        if ended:
            return [g.tensor() for g in out], source.end
        source.drop_before(context_start(pos, context))


def encode_streaming(
    codec: Codec, source: AudioSource, n: int, chunk: int, device: torch.device
) -> tuple[list[torch.Tensor], int]:
    """Exact chunked encoding of one long item with the encoder's carried state: (1-D codes per level, length)."""
    out = [GrowingCodes() for _ in range(n)]
    pos = 0
    with streaming(codec.encoder, 1):
        while True:
            ended = source.fill(pos + chunk)
            end = round_up(source.end, codec.pad_multiple) if ended else source.end
            for w in state_windows(pos, end, chunk, ended):
                latents = codec.encoder(source.window(w)[None].to(device))
                for level, c in enumerate(codec.quantizer.encode(latents, n)):
                    out[level].append(c[0].cpu())
                pos = w.stop
            if ended:
                return [g.tensor() for g in out], source.end
            source.drop_before(pos)


def decode_chunks(
    codec: Codec, codes: list[torch.Tensor], length: int, chunk: int, context: int, device: torch.device
) -> Iterator[torch.Tensor]:
    """Chunked decoding of one item's 1-D codes per level (covering a multiple of `pad_multiple` samples),
    yielding `(channels, n)` blocks of its first `length` samples."""
    hops = codec.hop_lengths
    padded = codes[0].shape[0] * hops[0]
    if streams_exactly(codec.decoder):
        with streaming(codec.decoder, 1):
            for w in clip(state_windows(0, padded, chunk, True), length):
                window = [c[None, w.span(h)].to(device) for c, h in zip(codes, hops)]
                yield codec.decoder(codec.quantizer.decode(window))[0].cpu()[:, w.kept()]
        return
    for w in clip(overlap_windows(0, padded, chunk, context, True), length):
        window = [c[None, w.span(h)].to(device) for c, h in zip(codes, hops)]
        yield codec.decode(window)[0].cpu()[:, w.kept()]
