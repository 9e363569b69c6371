"""Streamable 1-D convolutions whose output lengths are exact, causal or not (EnCodec's padding rules).

`StreamableConv1d` maps T input frames to ceil(T / stride) output frames. With effective kernel
k_eff = (kernel - 1) * dilation + 1 the padding is `total = k_eff - stride`: causal puts all of it on
the left; non-causal puts `total - total // 2` left and `total // 2` right. Then `(-T) % stride` more
frames go on the right so the last window is full. Padding is zeros, a reflection or the edge frame repeated
(`pad_mode`).

`StreamableConvTranspose1d` maps T frames to T * stride: it trims `total = kernel - stride` output
frames, all on the right when causal, else `total // 2` right and the rest left.

State-dict layout (the converters rely on it): the inner torch conv is at attribute `conv`:
- no norm:        `<prefix>.conv.weight`, `<prefix>.conv.bias`
- weight norm:    `<prefix>.conv.parametrizations.weight.original0` (g, shape (out, 1, 1), or (in, 1, 1) for
                  the transposed conv), `<prefix>.conv.parametrizations.weight.original1` (v), `<prefix>.conv.bias`
  (torch.nn.utils.parametrizations.weight_norm over dim 0; the old `weight_g` / `weight_v` map to original0/1).

Inference (eval mode, autograd off) takes a fast path with the same arithmetic: the weight norm is folded once
and cached until a parameter changes (`weight_and_bias`), zero padding that is the same on both sides is left to
the convolution (no padded copy), a transposed conv trims its symmetric part itself, and a 1x1 conv is one
batched matrix product (torch runs it through an im2col copy on CPU). Traced (ONNX) graphs keep plain convs.

Streaming (see `codeckit.nn.streaming`): a causal conv keeps its last `total` inputs (`previous`); a causal
transposed conv keeps its `kernel - stride` overlapping outputs (`partial`). Non-causal layers with padding
cannot stream exactly and refuse to.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from codeckit.errors import ConfigError
from codeckit.nn.checks import check_choice, check_positive
from codeckit.nn.streaming import StreamingError, StreamingModule, check_batch

NORMS = ("weight_norm", "none")
PAD_MODES = ("zeros", "constant", "reflect", "replicate")  # "constant" is "zeros" (torch's name)


def pad1d(x: torch.Tensor, left: int, right: int, mode: str = "zeros") -> torch.Tensor:
    """Pad the last axis; reflect padding on a signal shorter than the pad first extends it with zeros."""
    if mode in ("zeros", "constant"):
        return F.pad(x, (left, right))
    if mode == "replicate":
        return F.pad(x, (left, right), mode=mode)
    length = x.shape[-1]
    widest = max(left, right)
    if length <= widest:  # reflect needs more samples than the pad: borrow zeros, then drop them
        extra = widest - length + 1
        y = F.pad(F.pad(x, (0, extra)), (left, right), mode=mode)
        return y[..., : y.shape[-1] - extra]
    return F.pad(x, (left, right), mode=mode)


def _pointwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """A 1x1 convolution of (B, C_in, T) as one batched matrix product (torch runs 1x1 convs through an im2col
    copy on CPU)."""
    w = weight[:, :, 0].expand(x.shape[0], -1, -1)
    if bias is None:
        return torch.bmm(w, x)
    return torch.baddbmm(bias[None, :, None].expand(x.shape[0], -1, x.shape[-1]), w, x)


class _StreamableConvBase(StreamingModule):
    """What both streamable convs share: option checks, the weight norm, the split of `padding_total` between
    the two sides, and the streaming state's guard (none without padding, a refusal when non-causal)."""

    kind = "conv"  # how messages name the layer
    conv: nn.Module
    padding_total: int
    causal: bool
    _folded: tuple[tuple[int, ...], torch.Tensor] | None = None

    def weight_and_bias(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The conv's (weight, bias); in inference (eval mode, no autograd) the weight norm is folded once and
        cached until a parameter changes (in-place updates and `load_state_dict` bump its version)."""
        conv = self.conv
        if self.training or torch.is_grad_enabled() or not parametrize.is_parametrized(conv, "weight"):
            return conv.weight, conv.bias
        params = conv.parametrizations.weight
        key = tuple(x for p in (params.original0, params.original1) for x in (p._version, p.data_ptr()))
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, conv.weight.detach().clone())
        return self._folded[1], conv.bias

    def _check_options(self, in_channels: int, out_channels: int, groups: int, norm: str, **sizes: int) -> None:
        """Raise ConfigError naming a channel count, group count, size or norm that cannot build the conv."""
        check_positive(self.kind, in_channels=in_channels, out_channels=out_channels, groups=groups, **sizes)
        if in_channels % groups or out_channels % groups:
            raise ConfigError(
                f"{self.kind}: groups {groups} must divide in_channels {in_channels} and out_channels {out_channels}"
            )
        check_choice(self.kind, "norm", norm, NORMS)

    @staticmethod
    def _normed(conv: nn.Module, norm: str) -> nn.Module:
        """`conv` under weight norm (dim 0) when `norm` is "weight_norm"."""
        return weight_norm(conv) if norm == "weight_norm" else conv

    def _centered(self) -> tuple[int, int]:
        """(left, right) shares of `padding_total` for a non-causal layer: the larger half on the left."""
        right = self.padding_total // 2
        return self.padding_total - right, right

    def _init_streaming_state(
        self, batch_size: int, device: torch.device, dtype: torch.dtype
    ) -> dict[str, torch.Tensor]:
        if self.padding_total == 0:
            return {}
        if not self.causal:
            raise StreamingError(self._no_stream_reason())
        return self._causal_state(batch_size, device, dtype)

    def _no_stream_reason(self) -> str:
        raise NotImplementedError

    def _causal_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class StreamableConv1d(_StreamableConvBase):
    """Conv1d with exact output length ceil(T / stride), causal or centered, optional weight norm."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        causal: bool = False,
        norm: str = "none",
        pad_mode: str = "zeros",
    ):
        super().__init__()
        self._check_options(
            in_channels, out_channels, groups, norm, kernel_size=kernel_size, stride=stride, dilation=dilation
        )
        check_choice(self.kind, "pad_mode", pad_mode, PAD_MODES)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.dilation = int(dilation)
        self.causal = bool(causal)
        self.pad_mode = "zeros" if pad_mode == "constant" else pad_mode
        k_eff = (self.kernel_size - 1) * self.dilation + 1
        if self.stride > k_eff:
            raise ConfigError(f"conv: stride {stride} larger than the effective kernel {k_eff} would skip input frames")
        self.padding_total = k_eff - self.stride
        conv = nn.Conv1d(
            in_channels, out_channels, kernel_size, stride=stride, dilation=dilation, groups=groups, bias=bias
        )
        self.conv = self._normed(conv, norm)

    @property
    def padding(self) -> tuple[int, int]:
        """(left, right) padding before the extra right padding that fills the last window."""
        return (self.padding_total, 0) if self.causal else self._centered()

    def output_length(self, length: int) -> int:
        """Output frames for `length` input frames: ceil(length / stride)."""
        return -(-length // self.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.streaming_state is not None:
            return self._step(x)
        left, right = self.padding
        right += (-x.shape[-1]) % self.stride
        weight, bias = self.weight_and_bias()
        conv = self.conv
        pointwise = self.kernel_size == 1 and self.stride == 1 and conv.groups == 1 and not right
        if pointwise and x.dim() == 3 and not torch.jit.is_tracing():  # ONNX keeps its Conv
            return _pointwise(x, weight, bias)
        if left == right and self.pad_mode == "zeros":  # the convolution pads itself: no padded copy
            return F.conv1d(x, weight, bias, self.stride, left, self.dilation, conv.groups)
        return F.conv1d(pad1d(x, left, right, self.pad_mode), weight, bias, self.stride, 0, self.dilation, conv.groups)

    # -- streaming ----------------------------------------------------------------------------
    def _no_stream_reason(self) -> str:
        return (
            f"a non-causal conv (kernel {self.kernel_size}, dilation {self.dilation}) needs future input "
            "and cannot stream exactly"
        )

    def _causal_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        in_channels = self.conv.in_channels
        state = {"previous": torch.zeros(batch_size, in_channels, self.padding_total, device=device, dtype=dtype)}
        if self.pad_mode in ("reflect", "replicate"):  # a stream's first chunk pads from its own frames
            state["first"] = torch.ones(batch_size, dtype=torch.bool, device=device)
        return state

    def _step(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % self.stride:
            raise StreamingError(
                f"streaming chunk of {x.shape[-1]} frames is not a multiple of the stride {self.stride}"
            )
        state = self.streaming_state
        assert state is not None
        total = self.padding_total
        if total == 0:
            return self._valid(x)
        previous = state["previous"]
        check_batch(previous, x.shape[0])
        if "first" in state:
            # branch-free (a traced ONNX step graph keeps it): streams at their first chunk take the padding
            first = state["first"]
            previous = torch.where(first[:, None, None], self._first_padding(x, bool(first.any())), previous)
            state["first"] = torch.zeros_like(first)
        buf = torch.cat([previous, x], dim=-1)
        state["previous"] = buf[..., buf.shape[-1] - total :]
        return self._valid(buf)

    def _valid(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution without padding (a streaming step's input already holds its left context)."""
        weight, bias = self.weight_and_bias()
        if self.kernel_size == 1 and self.stride == 1 and self.conv.groups == 1 and not torch.jit.is_tracing():
            return _pointwise(x, weight, bias)
        return F.conv1d(x, weight, bias, self.stride, 0, self.dilation, self.conv.groups)

    def _first_padding(self, x: torch.Tensor, any_first: bool) -> torch.Tensor:
        """The left padding of a stream's first chunk `x`: its reflection, or its first frame repeated."""
        total = self.padding_total
        if self.pad_mode == "replicate":
            return x[..., :1].expand(-1, -1, total)
        if not torch.jit.is_tracing() and x.shape[-1] <= total and any_first:
            raise StreamingError(
                f"a reflect-padded conv needs a first chunk longer than {total} frames, got {x.shape[-1]}"
            )
        return F.pad(x[..., 1 : total + 1], (0, total))[..., :total].flip(-1)


class StreamableConvTranspose1d(_StreamableConvBase):
    """ConvTranspose1d with exact output length T * stride, causal (trim right) or centered.

    `padding` trims that many frames from each side instead, as nn.ConvTranspose1d's own argument does (output
    T * stride + kernel - stride - 2 * padding): only to reproduce models trained that way (DAC), offline only.
    """

    kind = "transposed conv"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        causal: bool = False,
        norm: str = "none",
        padding: int | None = None,
    ):
        super().__init__()
        self._check_options(in_channels, out_channels, groups, norm, kernel_size=kernel_size, stride=stride)
        if kernel_size < stride:
            raise ConfigError(
                f"transposed conv: kernel_size {kernel_size} smaller than stride {stride} would leave output gaps"
            )
        if padding is not None and (causal or not 0 <= padding <= (kernel_size - stride + 1) // 2):
            raise ConfigError(
                f"transposed conv: padding {padding} needs a non-causal conv and "
                "0 <= padding <= (kernel - stride + 1) // 2"
            )
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.causal = bool(causal)
        self.padding = padding
        self.padding_total = self.kernel_size - self.stride
        conv = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=stride, groups=groups, bias=bias)
        self.conv = self._normed(conv, norm)

    @property
    def trim(self) -> tuple[int, int]:
        """(left, right) output frames removed."""
        if self.padding is not None:
            return self.padding, self.padding
        return (0, self.padding_total) if self.causal else self._centered()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.streaming_state is not None:
            return self._step(x)
        weight, bias = self.weight_and_bias()
        left, right = self.trim
        both = min(left, right)  # the transposed convolution trims this much from each side itself
        y = F.conv_transpose1d(x, weight, bias, self.stride, both, 0, self.conv.groups)
        left, right = left - both, right - both
        return y[..., left : y.shape[-1] - right] if left or right else y

    # -- streaming ----------------------------------------------------------------------------
    def _no_stream_reason(self) -> str:
        return (
            f"a non-causal transposed conv (kernel {self.kernel_size}, stride {self.stride}) trims output on "
            "the left and cannot stream exactly"
        )

    def _causal_state(self, batch_size: int, device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        shape = (batch_size, self.conv.out_channels, self.padding_total)
        return {"partial": torch.zeros(shape, device=device, dtype=dtype)}

    def _step(self, x: torch.Tensor) -> torch.Tensor:
        state = self.streaming_state
        assert state is not None
        weight, bias = self.weight_and_bias()
        y = F.conv_transpose1d(x, weight, bias, self.stride, 0, 0, self.conv.groups)
        total = self.padding_total
        if total == 0:
            return y
        partial = state["partial"]
        check_batch(partial, x.shape[0])
        y = torch.cat([y[..., :total] + partial, y[..., total:]], dim=-1)
        tail = y[..., y.shape[-1] - total :]
        if bias is not None:
            tail = tail - bias[:, None]
        state["partial"] = tail
        return y[..., : y.shape[-1] - total]
