"""Streamable convs: exact output lengths, the padding split, causality, weight-norm key layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d

pytestmark = pytest.mark.usefixtures("one_thread")


@settings(max_examples=40, deadline=None)
@given(
    length=st.integers(1, 70),
    kernel=st.integers(1, 9),
    stride=st.integers(1, 5),
    dilation=st.integers(1, 3),
    causal=st.booleans(),
    pad_mode=st.sampled_from(["zeros", "reflect"]),
)
def test_conv_output_length_is_ceil(length, kernel, stride, dilation, causal, pad_mode):
    if stride > (kernel - 1) * dilation + 1:
        with pytest.raises(ValueError, match="stride"):
            StreamableConv1d(1, 1, kernel, stride=stride, dilation=dilation)
        return
    conv = StreamableConv1d(2, 3, kernel, stride=stride, dilation=dilation, causal=causal, pad_mode=pad_mode)
    y = conv(torch.randn(1, 2, length))
    assert y.shape == (1, 3, -(-length // stride)) == (1, 3, conv.output_length(length))


@settings(max_examples=30, deadline=None)
@given(length=st.integers(1, 40), stride=st.integers(1, 6), extra=st.integers(0, 6), causal=st.booleans())
def test_transposed_output_length_is_exact(length, stride, extra, causal):
    conv = StreamableConvTranspose1d(2, 3, stride + extra, stride=stride, causal=causal)
    assert conv(torch.randn(2, 2, length)).shape == (2, 3, length * stride)


@pytest.mark.parametrize("kernel,stride,dilation", [(7, 1, 1), (3, 1, 3), (4, 2, 1), (10, 5, 1), (5, 3, 1)])
def test_padding_split_matches_manual_conv(kernel, stride, dilation):
    torch.manual_seed(0)
    conv = StreamableConv1d(2, 3, kernel, stride=stride, dilation=dilation)
    x = torch.randn(1, 2, 31)
    total = (kernel - 1) * dilation + 1 - stride
    left, right = total - total // 2, total // 2
    extra = (-31) % stride
    ref = F.conv1d(F.pad(x, (left, right + extra)), conv.conv.weight, conv.conv.bias, stride, dilation=dilation)
    assert torch.allclose(conv(x), ref, atol=1e-6)
    causal = StreamableConv1d(2, 3, kernel, stride=stride, dilation=dilation, causal=True)
    causal.load_state_dict(conv.state_dict())
    ref = F.conv1d(F.pad(x, (total, extra)), conv.conv.weight, conv.conv.bias, stride, dilation=dilation)
    assert torch.allclose(causal(x), ref, atol=1e-6)


def test_reflect_padding_and_short_inputs():
    torch.manual_seed(0)
    conv = StreamableConv1d(1, 1, 7, causal=True, pad_mode="reflect")
    x = torch.randn(1, 1, 20)
    ref = F.conv1d(F.pad(x, (6, 0), mode="reflect"), conv.conv.weight, conv.conv.bias)
    assert torch.allclose(conv(x), ref, atol=1e-6)
    for length in (1, 3, 6):  # shorter than the pad: extended with zeros first, length still exact
        assert conv(torch.randn(1, 1, length)).shape[-1] == length


@pytest.mark.parametrize("kernel,stride", [(4, 2), (10, 5), (5, 3), (3, 1)])
def test_transposed_trim_split(kernel, stride):
    torch.manual_seed(0)
    x = torch.randn(1, 2, 9)
    for causal in (True, False):
        conv = StreamableConvTranspose1d(2, 3, kernel, stride=stride, causal=causal)
        full = F.conv_transpose1d(x, conv.conv.weight, conv.conv.bias, stride)
        total = kernel - stride
        right = total if causal else total // 2
        left = total - right
        assert torch.allclose(conv(x), full[..., left : full.shape[-1] - right], atol=1e-6)


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect"])
def test_causal_conv_ignores_future_input(pad_mode):
    torch.manual_seed(0)
    conv = StreamableConv1d(2, 2, 6, stride=2, dilation=1, causal=True, pad_mode=pad_mode)
    up = StreamableConvTranspose1d(2, 2, 6, stride=3, causal=True)
    x = torch.randn(1, 2, 40)
    x2 = x.clone()
    x2[..., 24:] += torch.randn(1, 2, 16)
    y, y2 = conv(x), conv(x2)
    assert torch.equal(y[..., :12], y2[..., :12]) and not torch.allclose(y[..., 12:], y2[..., 12:])
    z, z2 = up(y), up(y2)
    assert torch.equal(z[..., :36], z2[..., :36]) and not torch.allclose(z, z2)


def test_noncausal_conv_sees_future_input():
    conv = StreamableConv1d(1, 1, 7)
    x = torch.randn(1, 1, 20)
    x2 = x.clone()
    x2[..., 10:] += 1.0
    assert not torch.equal(conv(x)[..., 7:10], conv(x2)[..., 7:10])


def test_weight_norm_key_layout_and_groups():
    conv = StreamableConv1d(4, 8, 3, groups=4, norm="weight_norm")
    assert set(conv.state_dict()) == {
        "conv.bias",
        "conv.parametrizations.weight.original0",
        "conv.parametrizations.weight.original1",
    }
    assert conv.state_dict()["conv.parametrizations.weight.original0"].shape == (8, 1, 1)
    assert conv.state_dict()["conv.parametrizations.weight.original1"].shape == (8, 1, 3)
    up = StreamableConvTranspose1d(4, 2, 4, stride=2, norm="weight_norm", bias=False)
    assert set(up.state_dict()) == {"conv.parametrizations.weight.original0", "conv.parametrizations.weight.original1"}
    assert set(StreamableConv1d(1, 1, 3).state_dict()) == {"conv.weight", "conv.bias"}
    x = torch.randn(2, 4, 11, requires_grad=True)
    up(conv(x)[:, :4]).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_bad_options_raise():
    with pytest.raises(ValueError, match="pad_mode"):
        StreamableConv1d(1, 1, 3, pad_mode="circular")
    with pytest.raises(ValueError, match="norm"):
        StreamableConv1d(1, 1, 3, norm="batch_norm")
    with pytest.raises(ValueError, match="kernel_size"):
        StreamableConvTranspose1d(1, 1, 2, stride=3)
