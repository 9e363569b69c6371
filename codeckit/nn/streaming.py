"""Streaming state for causal layers: each stateful layer owns its state, as plain tensors.

How a layer exposes its state (the ONNX export builds on this):

- A stateful layer subclasses `StreamingModule` and implements
  `_init_streaming_state(batch_size, device, dtype) -> dict[str, Tensor]`, the state's initial values.
  Every state tensor has the batch (stream) as dim 0, so one stream is reset by writing its row.
  A layer that needs no state (a 1x1 conv) returns `{}`.
- While streaming, the layer's `streaming_state` attribute is that dict (name -> tensor); in offline
  mode it is `None`. The layer's `forward` reads the state and writes the new state back into the dict
  (by assignment, never in place), so a traced graph sees it as input -> output.
- Across a model, states are named `"<module path>.<state name>"` (module path as in `named_modules`),
  e.g. `encoder.layers.0.previous`. `get_streaming_state(model)` returns them all in module order and
  `set_streaming_state(model, states)` writes them back: the ONNX export feeds graph inputs through
  `set_streaming_state`, runs one step, and reads graph outputs with `get_streaming_state`.
  `streaming_state_spec(model, batch_size)` lists name, shape, dtype and initial value of each.

States the layers here define (C = channels, B = streams):
- causal `StreamableConv1d`: `previous` (B, C_in, k_eff - stride) zeros, the last inputs; with reflect
  padding also `first` (B,) bool True (the stream has not started; its first chunk's left padding is a
  reflection of that chunk, as offline).
- causal `StreamableConvTranspose1d`: `partial` (B, C_out, kernel - stride) zeros, the overlapping
  output of past frames, without bias.
- `StreamableLSTM`: `h` and `c`, (B, num_layers, hidden) zeros.

For a traced (ONNX) step, states go in through `set_streaming_state` and out through `get_streaming_state`
(weight norm removed first); the layers' chunk and batch checks become trace-time constants, and a
reflect-padded conv selects its start-of-stream reflection with `torch.where` on `first`, so one step
graph serves the first chunk and the later ones.

A layer that streams its stateful submodules itself (`wraps = True`, e.g. the lookahead wrappers of
`codeckit.nn.lookahead`) is started alone; the layers inside it are not.

Use: `with streaming(model, batch_size): y = [model(chunk) for chunk in chunks]`, or the same methods on a
module that mixes in `Streamable`. Chunks must be whole multiples of each layer's stride (for a codec: of
its hop length); `reset_streaming(model, streams=[i])` restarts stream i alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from codeckit.errors import CodeckitError


class StreamingError(CodeckitError, RuntimeError):
    """A module that cannot stream, or a chunk that does not fit the streaming state."""


@dataclass(frozen=True)
class StateSpec:
    """One streaming state tensor: its qualified name, shape, dtype and initial value."""

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    initial: torch.Tensor


class StreamingModule(nn.Module):
    """A layer that carries state between chunks while streaming (see the module docstring)."""

    streaming_state: dict[str, torch.Tensor] | None = None
    streaming_batch_size: int = 0
    wraps: bool = False  # True: this layer streams its stateful submodules itself (they are not started)

    def _init_streaming_state(
        self, batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _state_device_dtype(self) -> tuple[torch.device, torch.dtype]:
        for p in self.parameters():
            return p.device, p.dtype
        return torch.device("cpu"), torch.get_default_dtype()

    def start_streaming(self, batch_size: int) -> None:
        """Turn streaming on for this layer with fresh state for `batch_size` streams."""
        device, dtype = self._state_device_dtype()
        self.streaming_state = self._init_streaming_state(int(batch_size), device, dtype)
        self.streaming_batch_size = int(batch_size)

    def stop_streaming(self) -> None:
        """Back to offline mode for this layer; its state is dropped."""
        self.streaming_state = None

    def reset_streaming(self, streams: Sequence[int] | None = None) -> None:
        """Put the state of `streams` (all by default) back to its initial value."""
        if self.streaming_state is None:
            raise StreamingError(f"{type(self).__name__} is not streaming; start streaming before resetting it")
        batch = self.streaming_batch_size
        device, dtype = self._state_device_dtype()
        init = self._init_streaming_state(batch, device, dtype)
        if streams is None:
            self.streaming_state = init
            return
        idx = torch.as_tensor(list(streams), dtype=torch.long)
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= batch):
            raise StreamingError(f"stream indices {list(streams)} out of range for {batch} streams")
        new = {}
        for name, value in self.streaming_state.items():
            value = value.clone()
            value[idx] = init[name][idx]
            new[name] = value
        self.streaming_state = new


def check_batch(state: torch.Tensor, batch: int) -> None:
    """Raise StreamingError when a chunk of `batch` streams meets a state tensor holding another number (dim 0).

    Every stateful layer checks its chunks so: a state started for B streams cannot silently broadcast."""
    if state.shape[0] != batch:
        raise StreamingError(f"streaming state holds {state.shape[0]} streams, chunk has batch {batch}")


def _streaming_modules(module: nn.Module) -> Iterator[tuple[str, StreamingModule]]:
    """The stateful layers inside `module` in module order, without those inside a layer that `wraps` them."""
    wrapped: list[str] = []
    for name, sub in module.named_modules():
        if any(name.startswith(w) for w in wrapped):
            continue
        if isinstance(sub, StreamingModule):
            yield name, sub
            if sub.wraps:
                wrapped.append(f"{name}." if name else "")


def start_streaming(module: nn.Module, batch_size: int) -> None:
    """Turn streaming on for every stateful layer inside `module` (fresh state, `batch_size` streams)."""
    for _, sub in _streaming_modules(module):
        sub.start_streaming(batch_size)


def stop_streaming(module: nn.Module) -> None:
    """Back to offline mode for every stateful layer inside `module`; their state is dropped."""
    for _, sub in _streaming_modules(module):
        sub.stop_streaming()


@contextmanager
def streaming(module: nn.Module, batch_size: int = 1) -> Iterator[nn.Module]:
    """Context in which `module` processes consecutive chunks of `batch_size` streams."""
    start_streaming(module, batch_size)
    try:
        yield module
    finally:
        stop_streaming(module)


def reset_streaming(module: nn.Module, streams: Sequence[int] | None = None) -> None:
    """Restart `streams` (all by default) in every stateful layer inside `module`."""
    for _, sub in _streaming_modules(module):
        sub.reset_streaming(streams)


def _qualified(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def get_streaming_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """All current states inside `module`, named `"<module path>.<state name>"`, in module order."""
    out: dict[str, torch.Tensor] = {}
    for prefix, sub in _streaming_modules(module):
        if sub.streaming_state is None:
            raise StreamingError(f"layer '{prefix}' is not streaming; call start_streaming first")
        for name, value in sub.streaming_state.items():
            out[_qualified(prefix, name)] = value
    return out


def set_streaming_state(module: nn.Module, states: dict[str, torch.Tensor]) -> None:
    """Write states named as by `get_streaming_state` back into the layers (all must be given)."""
    for prefix, sub in _streaming_modules(module):
        if sub.streaming_state is None:
            raise StreamingError(f"layer '{prefix}' is not streaming; call start_streaming first")
        new = {}
        for name, old in sub.streaming_state.items():
            key = _qualified(prefix, name)
            if key not in states:
                raise StreamingError(f"streaming state '{key}' is missing")
            value = states[key]
            if tuple(value.shape[1:]) != tuple(old.shape[1:]) or value.dtype != old.dtype:
                raise StreamingError(
                    f"streaming state '{key}' must be {old.dtype} (B, {', '.join(map(str, old.shape[1:]))}), "
                    f"got {value.dtype} {tuple(value.shape)}"
                )
            new[name] = value
        sub.streaming_state = new


def streaming_state_spec(module: nn.Module, batch_size: int = 1) -> list[StateSpec]:
    """Name, shape, dtype and initial value of every state inside `module` for `batch_size` streams."""
    specs = []
    for prefix, sub in _streaming_modules(module):
        device, dtype = sub._state_device_dtype()
        for name, value in sub._init_streaming_state(int(batch_size), device, dtype).items():
            specs.append(StateSpec(_qualified(prefix, name), tuple(value.shape), value.dtype, value))
    return specs


class Streamable:
    """Mixin for whole models (encoders, decoders, codecs): the functions above as methods."""

    def streaming(self, batch_size: int = 1):  # noqa: ANN201 - a context manager
        """Context in which this model processes consecutive chunks of `batch_size` streams."""
        return streaming(self, batch_size)  # type: ignore[arg-type]

    def reset_streaming(self, streams: Sequence[int] | None = None) -> None:
        """Restart `streams` (all by default) of this model's stateful layers."""
        reset_streaming(self, streams)  # type: ignore[arg-type]

    def streaming_state_spec(self, batch_size: int = 1) -> list[StateSpec]:
        """Name, shape, dtype and initial value of every state of this model for `batch_size` streams."""
        return streaming_state_spec(self, batch_size)  # type: ignore[arg-type]


_CONTEXT_LAYERS = (nn.LSTM, nn.GRU, nn.MultiheadAttention)  # layers that see past frames on their own


def streams_exactly(module: nn.Module) -> bool:
    """Whether `module` streams chunk by chunk exactly: it has streaming layers, all causal, and no layer
    with temporal context (a conv with kernel > 1, an LSTM) outside them."""
    stateful = [m for _, m in _streaming_modules(module)]
    if not stateful:
        return False
    try:
        streaming_state_spec(module, 1)
    except StreamingError:
        return False
    covered = {id(sub) for m in stateful for sub in m.modules()}
    return not any(_has_context(m) for m in module.modules() if id(m) not in covered)


def _has_context(module: nn.Module) -> bool:
    """Whether a layer outside the streaming layers mixes frames in time (so chunks would not join exactly)."""
    if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d)) and max(module.kernel_size) > 1:
        return True
    return isinstance(module, _CONTEXT_LAYERS)
