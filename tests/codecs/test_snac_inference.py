"""SNAC's inference fast paths (eval mode, no autograd): folded weight norm cached until a parameter changes, 1x1
convs as matrix products, convs padding themselves, Snake in one buffer; each equals the plain arithmetic."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d, pad1d
from codeckit.nn.residual import wn_conv1d, wn_conv_transpose1d
from codeckit.nn.snake import Snake


def _plain_conv(conv: StreamableConv1d, x: torch.Tensor) -> torch.Tensor:
    left, right = conv.padding
    c = conv.conv
    x = pad1d(x, left, right + (-x.shape[-1]) % conv.stride, conv.pad_mode)
    return F.conv1d(x, c.weight, c.bias, conv.stride, 0, conv.dilation, c.groups)


def test_folded_weight_follows_parameter_updates():
    torch.manual_seed(0)
    conv, other = wn_conv1d(4, 6, 3).eval(), wn_conv1d(4, 6, 3).eval()
    x = torch.randn(2, 4, 50)
    with torch.inference_mode():
        first = conv(x)
        assert conv(x).data_ptr() != first.data_ptr() and torch.equal(conv(x), first)
    with torch.no_grad():
        conv.conv.parametrizations.weight.original0.mul_(2)  # the gain: the folded weight must follow
        doubled = conv(x)
    bias = conv.conv.bias[None, :, None]
    torch.testing.assert_close(doubled - bias, 2 * (first - bias))
    conv.load_state_dict(other.state_dict())
    with torch.inference_mode():
        torch.testing.assert_close(conv(x), other(x))
    y = conv.train()(x)  # training: the parametrized weight, with gradients
    y.sum().backward()
    assert conv.conv.parametrizations.weight.original1.grad is not None


@pytest.mark.parametrize(
    "options",
    [
        {"kernel_size": 1},
        {"kernel_size": 7, "dilation": 3, "groups": 4},
        {"kernel_size": 4, "stride": 2},
        {"kernel_size": 7, "causal": True},
        {"kernel_size": 5, "pad_mode": "reflect"},
    ],
)
def test_inference_conv_equals_padded_conv(options):
    torch.manual_seed(1)
    conv = StreamableConv1d(4, 8, norm="weight_norm", **options).eval()
    x = torch.randn(3, 4, 37)
    with torch.inference_mode():
        fast = conv(x)
    with torch.no_grad():
        torch.testing.assert_close(fast, _plain_conv(conv, x), atol=1e-6, rtol=0)
    assert fast.shape[-1] == conv.output_length(37)


@pytest.mark.parametrize("stride, causal", [(2, False), (3, False), (4, True)])
def test_inference_transposed_conv_equals_trimmed_conv(stride, causal):
    torch.manual_seed(2)
    conv = wn_conv_transpose1d(6, 4, 2 * stride, stride, causal).eval()
    assert isinstance(conv, StreamableConvTranspose1d)
    x = torch.randn(2, 6, 11)
    with torch.inference_mode():
        fast = conv(x)
    with torch.no_grad():
        full = conv.conv(x)
    left, right = conv.trim
    torch.testing.assert_close(fast, full[..., left : full.shape[-1] - right], atol=1e-6, rtol=0)
    assert fast.shape[-1] == 11 * stride


def test_snake_inference_is_the_training_arithmetic():
    torch.manual_seed(3)
    snake = Snake(5)
    with torch.no_grad():
        snake.alpha.uniform_(0.3, 2.0)
    x = torch.randn(2, 5, 40)
    with torch.inference_mode():
        fast = snake(x)
    assert torch.equal(fast, x + (snake.alpha + 1e-9).reciprocal() * torch.sin(snake.alpha * x).pow(2))
    assert torch.equal(snake(x), fast)  # with autograd: the same values, and a graph
    assert snake(x).requires_grad
