"""SEANet encoder and decoder (EnCodec's convolutional stacks), registered as `seanet`.

Encoder (`layers`): conv k7 -> per ratio (ratios reversed, smallest first) [residual blocks, ELU,
stride-r conv k2r doubling channels] -> [LSTM] -> ELU -> conv to `dimension`. Decoder mirrors it:
conv k7 -> [LSTM] -> per ratio [ELU, stride-r transposed conv k2r halving channels, residual blocks] -> ELU
-> conv to `channels` [-> tanh]. A residual block is `shortcut(x) + block(x)` with
block = ELU, conv k3 dilated (channels / compress), ELU, conv 1x1, and shortcut a 1x1 conv or identity.

Layer indices follow EnCodec's, so its state-dict keys map one to one (see `codeckit.convert.encodec`).
With `causal=True` every layer is causal and the stacks stream exactly (`codeckit.nn.streaming`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from codeckit.nn.checks import check_choice, check_non_negative, check_positive, check_positive_list
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.lstm import StreamableLSTM
from codeckit.nn.streaming import Streamable
from codeckit.registry import DECODERS, ENCODERS


class SEANetResBlock(nn.Module):
    """`shortcut(x) + block(x)`, length-preserving (kernels [k, 1], dilations [d, 1])."""

    def __init__(
        self,
        dim: int,
        kernel_size: int,
        dilation: int,
        compress: int,
        true_skip: bool,
        causal: bool,
        norm: str,
        pad_mode: str,
        alpha: float,
    ):
        super().__init__()
        hidden = dim // compress
        conv = dict(causal=causal, norm=norm, pad_mode=pad_mode)
        self.block = nn.Sequential(
            nn.ELU(alpha),
            StreamableConv1d(dim, hidden, kernel_size, dilation=dilation, **conv),
            nn.ELU(alpha),
            StreamableConv1d(hidden, dim, 1, **conv),
        )
        self.shortcut = nn.Identity() if true_skip else StreamableConv1d(dim, dim, 1, **conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


def _res_options(
    kernel_size: int, dilation_base: int, compress: int, true_skip: bool, alpha: float, conv: dict[str, Any]
) -> dict[str, Any]:
    """The keywords of `_res_blocks` (ConfigError naming a bad size)."""
    check_positive("seanet", residual_kernel_size=kernel_size, dilation_base=dilation_base, compress=compress)
    options = dict(kernel_size=kernel_size, compress=compress, true_skip=true_skip, alpha=alpha, **conv)
    return {**options, "dilation_base": dilation_base}


def _res_blocks(dim: int, n: int, kwargs: dict) -> list[nn.Module]:
    """`n` residual blocks at `dim` with dilations dilation_base ** j."""
    base = kwargs.pop("dilation_base")
    return [SEANetResBlock(dim, dilation=base**j, **kwargs) for j in range(n)]


class _SEANetStack(Streamable, nn.Module):
    """What the SEANet encoder and decoder share: their size checks and the sizes they expose."""

    def _setup(
        self, channels: int, dimension: int, ratios: Sequence[int], n_filters: int, n_residual_layers: int, lstm: int
    ) -> None:
        """Check the sizes (ConfigError naming the key), then keep ratios, hop_length, dim and channels."""
        check_positive("seanet", channels=channels, dimension=dimension, n_filters=n_filters)
        check_non_negative("seanet", n_residual_layers=n_residual_layers, lstm=lstm)
        check_positive_list("seanet", "ratios", ratios)
        self.ratios = [int(r) for r in ratios]
        self.hop_length = math.prod(self.ratios)
        self.dim = int(dimension)
        self.channels = int(channels)


@ENCODERS.register("seanet")
class SEANetEncoder(_SEANetStack):
    """Audio (B, channels, T) -> latents (B, dimension, T / prod(ratios))."""

    def __init__(
        self,
        channels: int = 1,
        dimension: int = 128,
        n_filters: int = 32,
        ratios: Sequence[int] = (8, 5, 4, 2),
        n_residual_layers: int = 1,
        kernel_size: int = 7,
        last_kernel_size: int = 7,
        residual_kernel_size: int = 3,
        dilation_base: int = 2,
        compress: int = 2,
        true_skip: bool = False,
        lstm: int = 2,
        causal: bool = True,
        norm: str = "weight_norm",
        pad_mode: str = "reflect",
        elu_alpha: float = 1.0,
    ):
        super().__init__()
        self._setup(channels, dimension, ratios, n_filters, n_residual_layers, lstm)
        conv = dict(causal=causal, norm=norm, pad_mode=pad_mode)
        res = _res_options(residual_kernel_size, dilation_base, compress, true_skip, elu_alpha, conv)
        width = n_filters
        layers: list[nn.Module] = [StreamableConv1d(channels, width, kernel_size, **conv)]
        for ratio in reversed(self.ratios):
            layers += _res_blocks(width, n_residual_layers, dict(res))
            layers += [nn.ELU(elu_alpha), StreamableConv1d(width, 2 * width, 2 * ratio, stride=ratio, **conv)]
            width *= 2
        if lstm:
            layers.append(StreamableLSTM(width, num_layers=lstm))
        layers += [nn.ELU(elu_alpha), StreamableConv1d(width, dimension, last_kernel_size, **conv)]
        self.layers = nn.Sequential(*layers)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.layers(audio)


@DECODERS.register("seanet")
class SEANetDecoder(_SEANetStack):
    """Latents (B, dimension, F) -> audio (B, channels, F * prod(ratios))."""

    def __init__(
        self,
        channels: int = 1,
        dimension: int = 128,
        n_filters: int = 32,
        ratios: Sequence[int] = (8, 5, 4, 2),
        n_residual_layers: int = 1,
        kernel_size: int = 7,
        last_kernel_size: int = 7,
        residual_kernel_size: int = 3,
        dilation_base: int = 2,
        compress: int = 2,
        true_skip: bool = False,
        lstm: int = 2,
        causal: bool = True,
        norm: str = "weight_norm",
        pad_mode: str = "reflect",
        elu_alpha: float = 1.0,
        final_activation: str = "none",
    ):
        super().__init__()
        check_choice("seanet decoder", "final_activation", final_activation, ("none", "tanh"))
        self._setup(channels, dimension, ratios, n_filters, n_residual_layers, lstm)
        conv = dict(causal=causal, norm=norm, pad_mode=pad_mode)
        res = _res_options(residual_kernel_size, dilation_base, compress, true_skip, elu_alpha, conv)
        width = n_filters * 2 ** len(self.ratios)
        layers: list[nn.Module] = [StreamableConv1d(dimension, width, kernel_size, **conv)]
        if lstm:
            layers.append(StreamableLSTM(width, num_layers=lstm))
        for ratio in self.ratios:
            up = StreamableConvTranspose1d(width, width // 2, 2 * ratio, stride=ratio, causal=causal, norm=norm)
            layers += [nn.ELU(elu_alpha), up]
            width //= 2
            layers += _res_blocks(width, n_residual_layers, dict(res))
        layers += [nn.ELU(elu_alpha), StreamableConv1d(width, channels, last_kernel_size, **conv)]
        if final_activation == "tanh":
            layers.append(nn.Tanh())
        self.layers = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return self.layers(latents)
