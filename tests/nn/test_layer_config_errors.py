"""Bad layer options raise ConfigError naming the option (a config's typo ends a run with one line, no traceback)."""

from __future__ import annotations

import pytest

from codeckit.codecs import build_codec
from codeckit.errors import ConfigError
from codeckit.nn.attention import LocalAttention, RotaryEmbedding
from codeckit.nn.conv import StreamableConv1d, StreamableConvTranspose1d
from codeckit.nn.convnext import ConvNeXtBackbone
from codeckit.nn.dac import DACDecoder, DACEncoder
from codeckit.nn.freqcodec import STFT, FreqDecoder, FreqEncoder
from codeckit.nn.lstm import StreamableLSTM
from codeckit.nn.mimi import MimiDecoder, MimiEncoder
from codeckit.nn.noise import NoiseBlock
from codeckit.nn.residual import DecoderBlock, EncoderBlock
from codeckit.nn.seanet import SEANetDecoder, SEANetEncoder
from codeckit.nn.snac import SNACDecoder, SNACEncoder
from codeckit.nn.transformer import StreamingTransformer

TINY_SEANET = {"dimension": 8, "n_filters": 2, "ratios": [2, 2], "lstm": 0}
IO = {"in_channels": 1, "out_channels": 1}  # a conv's channels

CASES = {
    # id: (constructor, keyword arguments, the option the message names)
    "conv_pad_mode": (StreamableConv1d, dict(IO, kernel_size=3, pad_mode="circular"), "pad_mode"),
    "conv_norm": (StreamableConv1d, dict(IO, kernel_size=3, norm="batch_norm"), "norm"),
    "conv_kernel_zero": (StreamableConv1d, dict(IO, kernel_size=0), "kernel_size"),
    "conv_stride_zero": (StreamableConv1d, dict(IO, kernel_size=3, stride=0), "stride"),
    "conv_stride_over_kernel": (StreamableConv1d, dict(IO, kernel_size=2, stride=3), "stride"),
    "conv_dilation_zero": (StreamableConv1d, dict(IO, kernel_size=3, dilation=0), "dilation"),
    "conv_groups": (StreamableConv1d, dict(in_channels=3, out_channels=4, kernel_size=3, groups=2), "groups"),
    "conv_channels": (StreamableConv1d, dict(in_channels=0, out_channels=4, kernel_size=3), "in_channels"),
    "conv_kernel_string": (StreamableConv1d, dict(IO, kernel_size="7"), "kernel_size"),
    "tconv_kernel_under_stride": (StreamableConvTranspose1d, dict(IO, kernel_size=2, stride=3), "kernel_size"),
    "tconv_stride_zero": (StreamableConvTranspose1d, dict(IO, kernel_size=2, stride=0), "stride"),
    "tconv_norm": (StreamableConvTranspose1d, dict(IO, kernel_size=4, stride=2, norm="spectral"), "norm"),
    "tconv_padding": (StreamableConvTranspose1d, dict(IO, kernel_size=4, stride=2, padding=5), "padding"),
    "seanet_pad_mode": (SEANetEncoder, dict(TINY_SEANET, pad_mode="mirror"), "pad_mode"),
    "seanet_ratio_zero": (SEANetEncoder, dict(TINY_SEANET, ratios=[2, 0]), "ratios[1]"),
    "seanet_compress_zero": (SEANetEncoder, dict(TINY_SEANET, compress=0), "compress"),
    "seanet_residual_kernel": (SEANetDecoder, dict(TINY_SEANET, residual_kernel_size=0), "residual_kernel_size"),
    "seanet_lstm_negative": (SEANetDecoder, dict(TINY_SEANET, lstm=-1), "lstm"),
    "seanet_final_activation": (SEANetDecoder, dict(TINY_SEANET, final_activation="relu"), "final_activation"),
    "residual_stride_zero": (EncoderBlock, dict(in_dim=2, out_dim=4, stride=0), "stride"),
    "residual_dilation_zero": (DecoderBlock, dict(in_dim=4, out_dim=2, stride=2, dilations=[1, 0]), "dilations[1]"),
    "dac_rate_zero": (DACEncoder, dict(dim=2, rates=[2, 0]), "rates[1]"),
    "dac_reference_lengths_causal": (
        DACDecoder, dict(latent_dim=4, dim=4, rates=[2], causal=True, reference_lengths=True), "reference_lengths"
    ),
    "snac_rate_negative": (SNACDecoder, dict(latent_dim=4, dim=4, rates=[-2]), "rates[0]"),
    "snac_attn_window_zero": (SNACEncoder, dict(dim=2, rates=[2], attn_window=-1), "window"),
    "noise_eval_noise": (NoiseBlock, dict(dim=4, eval_noise="sometimes"), "eval_noise"),
    "lstm_layers_zero": (StreamableLSTM, dict(dim=4, num_layers=0), "num_layers"),
    "attention_head_dim": (LocalAttention, dict(dim=100, window=8), "dim_head"),
    "attention_window_zero": (LocalAttention, dict(dim=64, window=0), "window"),
    "rotary_odd": (RotaryEmbedding, dict(dim_head=7), "dim_head"),
    "transformer_heads": (StreamingTransformer, dict(d_model=16, num_heads=3, num_layers=1), "num_heads"),
    "transformer_context_zero": (
        StreamingTransformer, dict(d_model=16, num_heads=2, num_layers=1, context=0), "context"
    ),
    "transformer_layers_negative": (StreamingTransformer, dict(d_model=16, num_heads=2, num_layers=-1), "num_layers"),
    "mimi_downsample_zero": (MimiEncoder, dict(seanet=TINY_SEANET, downsample_stride=0), "downsample_stride"),
    "mimi_upsample_zero": (MimiDecoder, dict(seanet=TINY_SEANET, upsample_stride=0), "upsample_stride"),
    "convnext_kernel_zero": (
        ConvNeXtBackbone, dict(in_dim=2, dim=4, intermediate_dim=8, n_layers=1, kernel_size=0), "kernel_size"
    ),
    "stft_hop_zero": (STFT, dict(n_fft=64, hop=0), "hop"),
    "stft_odd_overlap": (STFT, dict(n_fft=64, hop=15), "n_fft"),
    "freq_ratios": (FreqEncoder, dict(channels=[2, 2], ratios=[[0, 1]]), "ratios"),
    "freq_channels": (FreqDecoder, dict(channels=[2, 0], ratios=[[2, 1]]), "channels[1]"),
    "freq_decoder_reduces_to_none": (
        FreqDecoder, dict(n_fft=64, hop=16, channels=[2] * 5, ratios=[[8, 1]] * 4), "ratios"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_bad_option_raises_config_error_naming_it(case):
    ctor, kwargs, option = CASES[case]
    with pytest.raises(ConfigError) as info:
        ctor(**kwargs)
    assert option in str(info.value), str(info.value)


def test_bad_pad_mode_in_a_codec_config_names_the_key():
    """Through `build_codec` (as `codeckit train` builds its model) the error is still a ConfigError naming it."""
    enc = {"name": "seanet", **TINY_SEANET, "causal": True, "pad_mode": "circular"}
    config = {
        "sample_rate": 8000,
        "encoder": enc,
        "quantizer": {"name": "rvq", "n_levels": 1, "level": {"name": "vq", "dim": 8, "codebook_size": 16}},
        "decoder": {**enc, "pad_mode": "zeros"},
    }
    with pytest.raises(ConfigError, match="pad_mode"):
        build_codec(config)
