"""Audio from a speech LM's output as it is generated: push ids (any number at a time), get audio chunks back.

    dec = LMStreamDecoder(codec, "orpheus")          # a Codec, codeckit.load(...) or an OnnxCodec
    for ids in lm_output:                            # e.g. one id per LM step
        play(dec.push(ids))                          # float32 (channels, n), often n == 0
    play(dec.flush())                                # the rest; the decoder is then ready for a new utterance

The layout's parser turns ids into codes frame by frame (`codeckit.tokens.lm`); codes are decoded in whole
codec groups (`pad_multiple` samples, one SNAC 24 kHz frame = 2048 samples):

- causal codecs stream exactly with carried state: the chunks concatenate to the offline decode. Latency:
  one group (the ONNX runner's first step may wait for its declared first chunk).
- other codecs (SNAC) decode a window of `context` samples before the new audio and keep `lookahead`
  samples of decoded audio after it, which are held back until more codes arrive; with `crossfade`
  > 0 each chunk's first samples are blended with the previous window's decode of them. Latency: one
  group plus `lookahead`. Orpheus's own decoder decodes the last 4 frames and keeps frames 2 of 4 (1 group
  of context, 2 of lookahead: 6144 samples, 256 ms, and it never plays the first and last frames);
  `benches/lm_streaming.py` measures both against offline decoding.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from codeckit.tokens.backends import Backend, Stepper, as_backend
from codeckit.tokens.errors import TokenError
from codeckit.tokens.lm import LMLayout
from codeckit.tokens.presets import layout as preset


class LMStreamDecoder:
    """Decodes one LM output stream to audio chunk by chunk (see the module docstring for the parameters)."""

    def __init__(
        self,
        codec: Any,
        layout: LMLayout | str,
        lookahead: int | None = None,
        context: int | None = None,
        crossfade: int = 0,
        skip_control: bool = True,
    ):
        self.backend: Backend = as_backend(codec)
        self.layout = preset(layout) if isinstance(layout, str) else layout
        self.skip_control = skip_control
        self.group = _check_fit(self.backend, self.layout)  # coarse frames per codec group
        g = self.backend.pad_multiple
        if self.backend.causal and (lookahead or context or crossfade):
            raise TokenError("a causal codec streams exactly: it takes no lookahead, context or crossfade")
        self.lookahead = g if lookahead is None else int(lookahead)
        self.context = 2 * g if context is None else int(context)
        self.crossfade = int(crossfade)
        if self.lookahead < 0 or self.context < 0 or not 0 <= self.crossfade <= self.lookahead:
            raise TokenError(
                f"need lookahead >= 0, context >= 0 and 0 <= crossfade <= lookahead, got "
                f"{self.lookahead}, {self.context}, {self.crossfade}"
            )
        self.stepper: Stepper | None = None
        self.reset()

    @property
    def latency_samples(self) -> int:
        """Algorithmic latency: audio is out this many samples after its codes' group started (group + lookahead)."""
        return self.backend.pad_multiple + (0 if self.backend.causal else self.lookahead)

    def reset(self) -> None:
        """Forget everything pending and start a new stream."""
        if self.stepper is not None:
            self.stepper.close()
        self.stepper = self.backend.stepper() if self.backend.causal else None
        self.parser = self.layout.parser(self.skip_control)
        self.codes = [np.zeros((1, 0), np.int64) for _ in self.layout.ratios]
        self.start = 0  # absolute group index of the buffers' first group
        self.emitted = 0  # absolute samples returned so far
        self.tail: np.ndarray | None = None
        self.dropped = 0  # ids of an unfinished frame left at the last flush

    def push(self, ids: Any) -> np.ndarray:
        """Append LM ids (a layout's step shape, any number of steps); returns the audio now final."""
        new = self.parser.push(ids)
        self.codes = [np.concatenate([c, n.numpy()[None]], axis=1) for c, n in zip(self.codes, new)]
        if self.stepper is not None:
            return self._step(self._groups())
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """The rest of the audio (a last partial group is zero-padded and trimmed back); then `reset`."""
        frames = self.codes[0].shape[1]
        end = (self.start * self.group + frames) * self.backend.hop_lengths[0]
        extra = -frames % self.group
        if extra:
            self.codes = [np.pad(c, ((0, 0), (0, extra * r))) for c, r in zip(self.codes, self.layout.ratios)]
        if self.stepper is not None:
            out = self._step(self._groups())
            rest = self.stepper.flush()
            out, self.emitted = np.concatenate([out, rest], axis=-1), self.emitted + rest.shape[-1]
        else:
            out = self._emit(final=True)
        if self.emitted > end:  # the zero padding's audio
            out = out[:, : max(0, out.shape[-1] - (self.emitted - end))]
        dropped = self.parser.pending
        self.reset()
        self.dropped = dropped
        return out

    # -- causal: exact steps ------------------------------------------------------------------------------
    def _groups(self) -> int:
        return self.codes[0].shape[1] // self.group

    def _step(self, groups: int) -> np.ndarray:
        if not groups:
            return np.zeros((self.backend.channels, 0), np.float32)
        take = [c[:, : groups * self.group * r] for c, r in zip(self.codes, self.layout.ratios)]
        self._drop(groups)
        audio = self.stepper.push(take)
        self.emitted += audio.shape[-1]
        return audio

    def _drop(self, groups: int) -> None:
        self.codes = [c[:, groups * self.group * r :] for c, r in zip(self.codes, self.layout.ratios)]
        self.start += groups

    # -- non-causal: windows with context and lookahead ------------------------------------------------
    def _emit(self, final: bool) -> np.ndarray:
        g, have = self.backend.pad_multiple, self.start + self._groups()
        end = have * g - (0 if final else self.lookahead)
        min_groups = math.ceil(self.backend.min_samples / g)
        if end <= self.emitted or (have < min_groups and not final):
            return np.zeros((self.backend.channels, 0), np.float32)
        if have < min_groups:
            raise TokenError(f"{have} codec groups are fewer than the {min_groups} this decoder needs")
        lo = max(0, min(self.emitted // g - math.ceil(self.context / g), have - min_groups))
        window = [c[:, (lo - self.start) * self.group * r :] for c, r in zip(self.codes, self.layout.ratios)]
        audio = self.backend.decode([w[:, : (have - lo) * self.group * r] for w, r in zip(window, self.layout.ratios)])
        a, b = self.emitted - lo * g, end - lo * g
        out = audio[:, a:b].copy()
        if self.tail is not None:
            n = min(self.tail.shape[-1], out.shape[-1])
            w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / self.crossfade)
            out[:, :n] = self.tail[:, :n] * (1 - w) + out[:, :n] * w
        self.tail = audio[:, b : b + self.crossfade].copy() if self.crossfade and not final else None
        self.emitted = end
        keep = max(0, min(end // g - math.ceil(self.context / g), have - min_groups))
        self._drop(max(0, keep - self.start))
        return out


def _check_fit(backend: Backend, layout: LMLayout) -> int:
    """Raise TokenError unless `layout` carries the codec's levels at its rates; returns coarse frames per group."""
    hops = backend.hop_lengths
    ratios = [hops[0] // h if hops[0] % h == 0 else -1 for h in hops]
    if ratios != list(layout.ratios):
        raise TokenError(
            f"layout '{layout.name}' carries {layout.n_levels} levels with {list(layout.ratios)} codes per frame, "
            f"but the codec has {len(hops)} levels with hops {hops}"
        )
    for level, (mine, theirs) in enumerate(zip(layout.codebook_sizes, backend.codebook_sizes)):
        if mine > theirs:
            raise TokenError(
                f"layout '{layout.name}' level {level} has {mine} codes; the codec's codebook has {theirs}"
            )
    if backend.pad_multiple % hops[0]:
        raise TokenError(f"the codec's group of {backend.pad_multiple} samples is not whole frames of {hops[0]}")
    return backend.pad_multiple // hops[0]
