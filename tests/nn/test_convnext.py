"""ConvNeXt blocks and backbone: shapes, gradients, layer scale, causality, streamed == offline."""

from __future__ import annotations

import pytest
import torch

from codeckit.errors import ConfigError
from codeckit.nn.convnext import ConvNeXtBackbone, ConvNeXtBlock
from codeckit.nn.streaming import StreamingError, streaming

pytestmark = pytest.mark.usefixtures("one_thread")


def test_block_starts_near_identity_and_trains():
    torch.manual_seed(0)
    block = ConvNeXtBlock(16, 48, layer_scale=1 / 8)
    assert torch.allclose(block.gamma, torch.full((16,), 1 / 8))
    x = torch.randn(2, 16, 20, requires_grad=True)
    y = block(x)
    assert y.shape == x.shape and y.dtype == torch.float32
    y.square().mean().backward()
    assert x.grad is not None and all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())


@pytest.mark.parametrize("causal", [False, True])
def test_backbone_shapes_and_gradients(causal):
    torch.manual_seed(0)
    net = ConvNeXtBackbone(12, 32, 96, 3, causal=causal)
    x = torch.randn(3, 12, 17, requires_grad=True)
    y = net(x)
    assert y.shape == (3, 32, 17) and torch.isfinite(y).all()
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_causal_backbone_ignores_the_future_and_centred_one_does_not():
    torch.manual_seed(0)
    x = torch.randn(1, 8, 30)
    later = x.clone()
    later[..., 20:] += 1.0
    causal = ConvNeXtBackbone(8, 16, 32, 2, causal=True)
    assert torch.equal(causal(x)[..., :20], causal(later)[..., :20])
    centred = ConvNeXtBackbone(8, 16, 32, 2, causal=False)
    assert not torch.allclose(centred(x)[..., :20], centred(later)[..., :20])


def test_causal_backbone_streams_like_offline():
    torch.manual_seed(0)
    net = ConvNeXtBackbone(8, 16, 32, 3, causal=True).eval()
    x = torch.randn(2, 8, 25)
    with torch.no_grad():
        offline = net(x)
        with streaming(net, 2):
            parts = [net(x[..., a:b]) for a, b in [(0, 1), (1, 8), (8, 9), (9, 25)]]
    assert (torch.cat(parts, dim=-1) - offline).abs().max() <= 1e-5


def test_centred_backbone_refuses_to_stream():
    net = ConvNeXtBackbone(8, 16, 32, 1)
    with pytest.raises(StreamingError):
        with streaming(net, 1):
            pass


@pytest.mark.parametrize("key", ["dim", "intermediate_dim", "n_layers"])
def test_bad_sizes_name_the_key(key):
    sizes = {"in_dim": 4, "dim": 8, "intermediate_dim": 16, "n_layers": 2, key: 0}
    with pytest.raises(ConfigError, match=key):
        ConvNeXtBackbone(**sizes)
