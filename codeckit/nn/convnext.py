"""ConvNeXt blocks and backbone at the code frame rate (Vocos's backbone), causal or not.

A block is `x + gamma * Linear(GELU(Linear(LayerNorm(dwconv_k7(x)))))`: a depthwise conv mixes time, the
two Linears (dim -> intermediate_dim -> dim) mix channels, and the layer scale `gamma` starts at
1 / n_layers so a deep stack starts close to the identity. The backbone is an embedding conv to `dim`,
LayerNorm, `n_layers` blocks and a final LayerNorm, on (B, C, T) feature maps.

The depthwise and embedding convs are `StreamableConv1d`s: centered ("same") when non-causal, causal with
their last inputs as streaming state otherwise, so a causal backbone streams chunk by chunk and equals one
offline pass (`codeckit.nn.streaming`). LayerNorms and Linears act on each frame alone and need no state.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from codeckit.nn.checks import check_positive
from codeckit.nn.conv import StreamableConv1d


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, T) feature map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ConvNeXtBlock(nn.Module):
    """One ConvNeXt block on (B, dim, T) -> (B, dim, T) (see the module docstring)."""

    def __init__(self, dim: int, intermediate_dim: int, layer_scale: float, kernel_size: int = 7, causal: bool = False):
        super().__init__()
        self.dwconv = StreamableConv1d(dim, dim, kernel_size, groups=dim, causal=causal)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, intermediate_dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(intermediate_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = rearrange(self.dwconv(x), "b c t -> b t c")
        h = self.pwconv2(self.act(self.pwconv1(self.norm(h)))) * self.gamma
        return x + rearrange(h, "b t c -> b c t")


class ConvNeXtBackbone(nn.Module):
    """(B, in_dim, T) -> (B, dim, T): embedding conv, LayerNorm, `n_layers` ConvNeXt blocks, LayerNorm."""

    def __init__(
        self,
        in_dim: int,
        dim: int,
        intermediate_dim: int,
        n_layers: int,
        causal: bool = False,
        kernel_size: int = 7,
        embed_kernel_size: int = 7,
    ):
        super().__init__()
        check_positive("convnext", in_dim=in_dim, dim=dim, intermediate_dim=intermediate_dim, n_layers=n_layers)
        check_positive("convnext", kernel_size=kernel_size, embed_kernel_size=embed_kernel_size)
        self.embed = StreamableConv1d(in_dim, dim, embed_kernel_size, causal=causal)
        self.norm = ChannelLayerNorm(dim, eps=1e-6)
        self.blocks = nn.Sequential(
            *(ConvNeXtBlock(dim, intermediate_dim, 1.0 / n_layers, kernel_size, causal) for _ in range(n_layers))
        )
        self.final_norm = ChannelLayerNorm(dim, eps=1e-6)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_norm(self.blocks(self.norm(self.embed(x))))


def _init_weights(module: nn.Module) -> None:
    """Vocos's init: truncated normal (std 0.02) weights, zero biases, for convs and Linears."""
    if isinstance(module, (nn.Conv1d, nn.Linear)):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
