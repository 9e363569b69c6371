"""Lookahead streaming of non-causal conv stacks (SNAC): each layer caches its own context, output as offline.

A non-causal conv needs `right` future frames, so a stream cannot give its output at once; it can give it
late. Here every temporal layer keeps its last inputs (its left context plus its lookahead) as a streaming
state and runs a plain valid convolution over state + new chunk, so nothing is recomputed between steps. Its
output frame m then stands for offline frame m - D (D, the delay, grows layer by layer; a strided conv takes
a few more frames, `extra`, so that D stays whole at its output rate). Offline, every conv pads with zeros:
in the stream each temporal layer zeroes the input frames before time 0 and at or past the end (`end`,
in input samples, known once the input has ended), so the output equals offline exactly, the last frames
included, after dropping the first D output frames. A residual skip gets a delay line as long as its
branch's delay; a local attention waits for whole windows (a delay line up to the next window boundary).

Layer rates are in input samples per frame, so one clock (samples consumed, `position`; and `end`) serves
every layer: `LookaheadStack` owns `position` as its streaming state and hands both to its layers each step.
States follow `codeckit.nn.streaming` (batch first, named by module path), so the ONNX step graphs take
them as inputs and outputs like any other.

    stack = lookahead_stack(snac_encoder, group=4)    # delays rounded to 4 latent frames (a quantizer group)
    with streaming(stack, 1):
        out = [stack(chunk, end) for chunk in chunks]  # end: (B,) int64, NO_END until the input has ended
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.nn.attention import LocalAttention
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.noise import NoiseBlock
from codeckit.nn.residual import ResidualUnit, _StridedBlock
from codeckit.nn.snake import Snake
from codeckit.nn.streaming import StreamingError, StreamingModule, check_batch

NO_END = 1 << 62  # `end` of a stream whose input has not ended
_POINTWISE = (Snake, nn.Tanh, nn.Identity, nn.ELU, nn.LeakyReLU, nn.GELU, nn.SiLU)


class StreamClock:
    """Samples consumed before the current step (`position`, (B,) int64) and where the input ends (`end`)."""

    def __init__(self) -> None:
        self.position: torch.Tensor | None = None
        self.end: torch.Tensor | None = None

    def valid(self, n: int, rate: int, delay: int) -> torch.Tensor:
        """(B, 1, n) float mask of the next `n` frames at `rate` samples per frame, `delay` frames late: 1 where
        the frame stands for a time inside [0, end), 0 where offline would see zero padding."""
        assert self.position is not None and self.end is not None, "the stack sets the clock before its layers run"
        index = torch.div(self.position, rate, rounding_mode="floor")[:, None]
        t = index + torch.arange(n, device=self.position.device)[None] - delay
        return ((t >= 0) & (t * rate < self.end[:, None])).unsqueeze(1).to(torch.float32)


@dataclass
class Timing:
    """Where a layer's frames stand: `delay` (stream frame m is offline frame m - delay), `rate` (samples/frame)."""

    delay: int
    rate: int


class _Layer(StreamingModule):
    """A temporal layer of a lookahead stack: reads the shared clock, owns its cached context."""

    wraps = True  # the conv inside streams through this layer, not on its own

    def __init__(self, clock: StreamClock, timing: Timing):
        super().__init__()
        self.clock = clock
        self.delay_in, self.rate_in = timing.delay, timing.rate

    def masked(self, x: torch.Tensor) -> torch.Tensor:
        """`x` with the frames outside the signal zeroed, as offline zero padding sees them."""
        return x * self.clock.valid(x.shape[-1], self.rate_in, self.delay_in).to(x.dtype)

    def cached(self, name: str, x: torch.Tensor, size: int) -> torch.Tensor:
        """State `name` (the last `size` frames) followed by `x`; the state becomes the last `size` frames."""
        state = self.streaming_state
        assert state is not None
        check_batch(state[name], x.shape[0])
        buf = torch.cat([state[name], x], dim=-1)
        state[name] = buf[..., buf.shape[-1] - size :]
        return buf


class LookaheadConv(_Layer):
    """A StreamableConv1d with zero padding, streamed late by its lookahead (plus `extra` to stay whole)."""

    def __init__(self, conv: StreamableConv1d, clock: StreamClock, timing: Timing):
        super().__init__(clock, timing)
        if conv.pad_mode != "zeros":
            raise StreamingError(f"a {conv.pad_mode}-padded conv pads with its own samples: no lookahead stream")
        self.conv = conv
        right = conv.padding[1]
        self.extra = -(right + timing.delay) % conv.stride
        self.size = conv.padding_total + self.extra
        self.timing = Timing((right + timing.delay + self.extra) // conv.stride, timing.rate * conv.stride)

    def _init_streaming_state(self, batch_size: int, device: torch.device, dtype: torch.dtype):
        return {"context": torch.zeros(batch_size, self.conv.conv.in_channels, self.size, device=device, dtype=dtype)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv._valid(self.cached("context", self.masked(x), self.size))


class LookaheadConvTranspose(_Layer):
    """A StreamableConvTranspose1d streamed with its overlap carried (`partial`), late by its left trim."""

    def __init__(self, conv: StreamableConvTranspose1d, clock: StreamClock, timing: Timing):
        super().__init__(clock, timing)
        left, right = conv.trim
        if left + right != conv.padding_total or timing.rate % conv.stride:
            raise StreamingError(
                f"a transposed conv trimming ({left}, {right}) at rate {timing.rate} has no exact lookahead stream"
            )
        self.conv = conv
        self.timing = Timing(timing.delay * conv.stride + left, timing.rate // conv.stride)

    def _init_streaming_state(self, batch_size: int, device: torch.device, dtype: torch.dtype):
        shape = (batch_size, self.conv.conv.out_channels, self.conv.padding_total)
        return {"partial": torch.zeros(shape, device=device, dtype=dtype)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.conv.weight_and_bias()
        y = F.conv_transpose1d(self.masked(x), weight, bias, self.conv.stride, 0, 0, self.conv.conv.groups)
        total = self.conv.padding_total
        state = self.streaming_state
        assert state is not None
        check_batch(state["partial"], x.shape[0])
        y = torch.cat([y[..., :total] + state["partial"], y[..., total:]], dim=-1)
        tail = y[..., y.shape[-1] - total :]
        state["partial"] = tail if bias is None else tail - bias[:, None]
        return y[..., : y.shape[-1] - total]


class Delay(StreamingModule):
    """A delay line of `frames` frames of `channels` channels (skip paths, window alignment)."""

    def __init__(self, channels: int, frames: int):
        super().__init__()
        self.channels, self.frames = int(channels), int(frames)

    def _init_streaming_state(self, batch_size: int, device: torch.device, dtype: torch.dtype):
        return {"line": torch.zeros(batch_size, self.channels, self.frames, device=device, dtype=dtype)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = self.streaming_state
        assert state is not None
        check_batch(state["line"], x.shape[0])
        buf = torch.cat([state["line"], x], dim=-1)
        state["line"] = buf[..., buf.shape[-1] - self.frames :]
        return buf[..., : x.shape[-1]]


class LookaheadResidual(nn.Module):
    """x (delayed like the branch) + branch(x)."""

    def __init__(self, block: nn.Module, skip: Delay | None):
        super().__init__()
        self.block, self.skip = block, skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x if self.skip is None else self.skip(x)) + self.block(x)


class LookaheadStack(StreamingModule):
    """A converted stack and its clock: `forward(x, end)`, x a chunk of whole output frames (see module doc)."""

    def __init__(self, layers: nn.Module, clock: StreamClock, rate_in: int, timing: Timing):
        super().__init__()
        self.layers, self.clock, self.rate_in = layers, clock, int(rate_in)
        self.delay, self.rate_out = timing.delay, timing.rate

    def _init_streaming_state(self, batch_size: int, device: torch.device, dtype: torch.dtype):
        return {"position": torch.zeros(batch_size, dtype=torch.int64, device=device)}

    def _state_device_dtype(self) -> tuple[torch.device, torch.dtype]:
        for p in self.layers.parameters():
            return p.device, p.dtype
        return torch.device("cpu"), torch.get_default_dtype()

    @property
    def delay_samples(self) -> int:
        """Input samples between a sample going in and its output coming out (without the chunk)."""
        return self.delay * self.rate_out

    def forward(self, x: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
        state = self.streaming_state
        if state is None:
            raise StreamingError("a lookahead stack only streams; start streaming first")
        check_batch(state["position"], x.shape[0])
        self.clock.position, self.clock.end = state["position"], end
        y = self.layers(x)
        state["position"] = state["position"] + x.shape[-1] * self.rate_in
        return y


def _first_conv_channels(module: nn.Module) -> int:
    for m in module.modules():
        if isinstance(m, (StreamableConv1d, StreamableConvTranspose1d)):
            return int(m.conv.in_channels)
    raise StreamingError(f"{type(module).__name__} has no conv to size its delay line")


def _convert(module: nn.Module, clock: StreamClock, timing: Timing) -> tuple[nn.Module, Timing]:
    """`module` as a lookahead-stream layer fed frames of `timing`; returns it and the timing of its output."""
    if isinstance(module, nn.Sequential):
        layers = []
        for child in module:
            layer, timing = _convert(child, clock, timing)
            layers.append(layer)
        return nn.Sequential(*layers), timing
    if isinstance(module, _StridedBlock):
        return _convert(module.block, clock, timing)
    if isinstance(module, ResidualUnit):
        block, out = _convert(module.block, clock, timing)
        if out.rate != timing.rate:
            raise StreamingError("a residual branch changes the frame rate")
        lag = out.delay - timing.delay
        return LookaheadResidual(block, Delay(_first_conv_channels(module), lag) if lag else None), out
    if isinstance(module, StreamableConv1d):
        if module.padding_total == 0 and module.stride == 1:
            return module, timing  # pointwise: no context, no delay
        layer = LookaheadConv(module, clock, timing)
        return layer, layer.timing
    if isinstance(module, StreamableConvTranspose1d):
        layer = LookaheadConvTranspose(module, clock, timing)
        return layer, layer.timing
    if isinstance(module, LocalAttention):
        lag = -timing.delay % module.window  # whole windows, aligned as offline
        return nn.Sequential(Delay(module.dim, lag), module), Timing(timing.delay + lag, timing.rate)
    if isinstance(module, NoiseBlock):
        if module.training or module.eval_noise != "off":
            raise StreamingError("a NoiseBlock drawing noise depends on the chunking; turn it off to stream")
        return module, timing
    if isinstance(module, _POINTWISE) or getattr(module, "pointwise", False):
        return module, timing
    raise StreamingError(f"{type(module).__name__} has no lookahead stream")


def lookahead_stack(layers: nn.Module, rate_in: int = 1, align: int = 1, channels: int | None = None) -> LookaheadStack:
    """A lookahead-streaming stack of `layers` (eval mode; its modules are shared, not copied).

    `rate_in`: input samples per input frame (1 for audio, the hop for latents). `align`: round the output delay
    up to a multiple of this many output frames (a quantizer group) with a delay line of `channels` channels.
    """
    clock = StreamClock()
    converted, timing = _convert(layers, clock, Timing(0, int(rate_in)))
    lag = -timing.delay % int(align)
    if lag:
        if channels is None:
            raise StreamingError(f"aligning the delay to {align} frames needs the output channels")
        converted = nn.Sequential(converted, Delay(channels, lag))
        timing = Timing(timing.delay + lag, timing.rate)
    return LookaheadStack(converted, clock, rate_in, timing)
