"""ONNX export of codecs with the `unit_hifigan` decoder: the units codec's offline graphs, and a causal codec's
step graphs streamed by the torch-free runner, both against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeckit.export.exporter import export_codec
from codeckit.export.graphs import prepare_for_export
from codeckit.export.runner import OnnxCodec

pytestmark = pytest.mark.usefixtures("one_thread")


def _audio(batch: int, samples: int) -> np.ndarray:
    return (torch.randn(batch, 1, samples, generator=torch.Generator().manual_seed(1)) * 0.3).numpy()


def _reference(codec: torch.nn.Module, audio: np.ndarray) -> tuple[list[torch.Tensor], np.ndarray]:
    model = prepare_for_export(codec)
    with torch.no_grad():
        codes = model.encode(torch.from_numpy(audio))
        return codes, model.decode(codes, length=audio.shape[-1]).numpy()


def test_units_codec_exports_offline(units_codec, tmp_path):
    """MFCC + k-means + unit_hifigan (centred): units and audio from onnxruntime equal PyTorch's."""
    codec = units_codec()
    export_codec(codec, tmp_path)
    runner = OnnxCodec(tmp_path)
    assert runner.hop_lengths == [160] and not runner.causal
    audio = _audio(2, 4000)
    ref_codes, ref_audio = _reference(codec, audio)
    codes = runner.encode(audio)
    assert np.array_equal(codes[0], ref_codes[0].numpy())
    assert np.abs(runner.decode(codes, length=audio.shape[-1]) - ref_audio).max() <= 1e-4


@pytest.mark.parametrize("generator", ["istft", "hifigan"])
def test_causal_unit_vocoder_streams_in_onnx(make_codec, tmp_path, generator):
    """A causal codec (causal vocos encoder, VQ, causal unit_hifigan with a speaker table): the step graphs carry
    the vocoder's states, and streamed decoding equals PyTorch's offline decoding."""
    decoder = {"name": "unit_hifigan", "latent_dim": 8, "hop_length": 40, "dim": 32, "n_layers": 2, "causal": True}
    decoder.update(generator=generator, upsample_rates=[5, 4, 2], resblock_kernels=[3], n_speakers=2, speaker_dim=4)
    codec = make_codec(
        {
            "sample_rate": 8000,
            "encoder": {"name": "vocos", "latent_dim": 8, "hop_length": 40, "n_fft": 80, "dim": 16, "n_layers": 1,
                        "causal": True},
            "quantizer": {"name": "vq", "dim": 8, "codebook_size": 32},
            "decoder": decoder,
        }
    )  # fmt: skip
    paths = export_codec(codec, tmp_path)
    assert "decoder_step" in paths
    runner = OnnxCodec(tmp_path)
    audio = _audio(2, 40 * 21)
    ref_codes, ref_audio = _reference(codec, audio)
    codes = runner.encode(audio)
    assert np.array_equal(codes[0], ref_codes[0].numpy())
    dec = runner.stream_decoder(2)
    pieces = [dec.push([codes[0][:, i : i + 4]]) for i in range(0, codes[0].shape[1], 4)]
    streamed = np.concatenate([*pieces, dec.flush()], axis=-1)[..., : audio.shape[-1]]
    assert np.abs(streamed - ref_audio).max() <= 1e-4
