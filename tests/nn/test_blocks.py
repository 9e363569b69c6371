"""Blocks: Snake, NoiseBlock, local attention, residual/strided blocks, STFT pair."""

from __future__ import annotations

import pytest
import torch

from codeckit.nn.attention import LocalAttention
from codeckit.nn.freqcodec import STFT
from codeckit.nn.noise import NoiseBlock
from codeckit.nn.snake import Snake


def test_snake_formula_and_grad():
    torch.manual_seed(0)
    act = Snake(3)
    with torch.no_grad():
        act.alpha.copy_(torch.tensor([0.5, 1.0, 2.0]).view(1, 3, 1))
    x = torch.randn(2, 3, 10, requires_grad=True)
    a = act.alpha
    expected = x + torch.sin(a * x) ** 2 / a
    y = act(x)
    assert torch.allclose(y, expected, atol=1e-6)
    y.sum().backward()
    assert act.alpha.grad is not None and torch.isfinite(act.alpha.grad).all()


def test_noise_block_modes():
    torch.manual_seed(0)
    x = torch.randn(3, 4, 50)
    nb = NoiseBlock(4)
    nb.train()
    assert not torch.equal(nb(x), nb(x))  # fresh noise at training
    nb.eval()
    y1, y2 = nb(x), nb(x)
    assert torch.equal(y1, y2) and not torch.equal(y1, x)  # seeded: deterministic, still noisy
    # the same noise for every item: item 1 alone gives the same as inside the batch
    assert torch.allclose(nb(x[1:2]), y1[1:2])
    other = NoiseBlock(4, seed=1)
    other.load_state_dict(nb.state_dict())
    assert not torch.equal(other.eval()(x), y1)
    off = NoiseBlock(4, eval_noise="off").eval()
    assert torch.equal(off(x), x)
    rnd = NoiseBlock(4, eval_noise="random").eval()
    assert not torch.equal(rnd(x), rnd(x))
    with pytest.raises(ValueError, match="eval_noise"):
        NoiseBlock(4, eval_noise="sometimes")


def _ref_attention(dim: int, window: int):
    attention = pytest.importorskip("snac.attention")
    return attention.LocalMHA(dim=dim, window_size=window)


@pytest.mark.parametrize("t", [64, 96])
def test_local_attention_matches_snac(t):
    torch.manual_seed(0)
    ref = _ref_attention(128, 32)
    ours = LocalAttention(128, 32)
    ours.load_state_dict({k: v for k, v in ref.state_dict().items() if not k.startswith("rel_pos")})
    x = torch.randn(2, 128, t)
    assert torch.allclose(ref(x), ours(x), atol=1e-6)


def test_local_attention_windows_are_independent_and_padding_is_masked():
    torch.manual_seed(0)
    att = LocalAttention(64, 8).eval()
    x = torch.randn(1, 64, 21)  # 2 full windows and 5 frames of a third
    y = att(x)
    assert y.shape == x.shape
    # full windows do not see the partial one
    assert torch.allclose(y[..., :16], att(x[..., :16]), atol=1e-6)
    # the partial window equals a window holding only those frames (the padding is masked out)
    x2 = torch.randn(1, 64, 24)
    x2[..., 16:21] = x[..., 16:21]
    assert not torch.allclose(att(x2)[..., 16:21], y[..., 16:21], atol=1e-4)
    assert torch.allclose(att(x[..., 16:21]), y[..., 16:21], atol=1e-6)


def test_local_attention_causal():
    torch.manual_seed(0)
    att = LocalAttention(64, 8, causal=True).eval()
    x = torch.randn(1, 64, 30)
    y = att(x)
    x2 = x.clone()
    x2[..., 13:] += torch.randn_like(x2[..., 13:])
    y2 = att(x2)
    assert torch.allclose(y[..., :13], y2[..., :13], atol=1e-6)
    assert not torch.allclose(y[..., 13:], y2[..., 13:], atol=1e-4)
    with pytest.raises(ValueError, match="head dimension"):
        LocalAttention(100, 8)


@pytest.mark.parametrize("n_fft,hop", [(512, 160), (64, 16)])
def test_stft_exact_length_round_trip(n_fft, hop):
    stft = STFT(n_fft, hop)
    x = torch.randn(2, hop * 25)
    spec = stft(x)
    assert spec.shape == (2, n_fft // 2 + 1, 25)
    assert torch.allclose(stft.inverse(spec), x, atol=1e-5)


@pytest.mark.parametrize("stride", [2, 3, 4, 5, 8])
def test_snac_strided_convs_equal_padded_torch_convs(stride):
    """SNAC's k=2s convs (padding ceil(s/2), output_padding s%2) equal the streamable non-causal convs."""
    import math

    from codeckit.nn.residual import wn_conv1d, wn_conv_transpose1d

    torch.manual_seed(0)
    t = 7 * stride
    pad = math.ceil(stride / 2)
    down = wn_conv1d(4, 6, 2 * stride, stride=stride)
    ref = torch.nn.Conv1d(4, 6, 2 * stride, stride=stride, padding=pad)
    ref.load_state_dict({"weight": down.conv.weight.detach(), "bias": down.conv.bias.detach()})
    x = torch.randn(2, 4, t)
    assert torch.allclose(down(x), ref(x), atol=1e-6) and down(x).shape[-1] == 7
    up = wn_conv_transpose1d(6, 4, 2 * stride, stride)
    ref_t = torch.nn.ConvTranspose1d(6, 4, 2 * stride, stride=stride, padding=pad, output_padding=stride % 2)
    ref_t.load_state_dict({"weight": up.conv.weight.detach(), "bias": up.conv.bias.detach()})
    z = torch.randn(2, 6, 7)
    assert torch.allclose(up(z), ref_t(z), atol=1e-6) and up(z).shape[-1] == t


def test_residual_unit_matches_same_padding_and_blocks_keep_exact_lengths():
    from codeckit.nn.residual import DecoderBlock, EncoderBlock, ResidualUnit

    torch.manual_seed(0)
    ru = ResidualUnit(4, dilation=3, groups=4)
    conv = ru.block[1].conv
    x = torch.randn(1, 4, 40)
    h = torch.nn.functional.conv1d(ru.block[0](x), conv.weight, conv.bias, padding=9, dilation=3, groups=4)
    expected = x + ru.block[3](ru.block[2](h))
    assert torch.allclose(ru(x), expected, atol=1e-6)
    enc, dec = EncoderBlock(4, 8, 3), DecoderBlock(8, 4, 3, noise=True)
    assert enc(torch.randn(1, 4, 33)).shape == (1, 8, 11)
    assert dec.eval()(torch.randn(1, 8, 11)).shape == (1, 4, 33)
