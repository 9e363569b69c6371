"""Parity with the reference `descript-audio-codec` package: random-init DAC models with the strides of the
released 16, 24 and 44.1 kHz configs (narrower, fewer codebooks), saved by DAC itself and converted with
`codeckit convert --from dac`, give identical codes and audio within 1e-4."""

from __future__ import annotations

import pytest
import torch
from reference_packages import import_reference

from codeckit.cli import main
from codeckit.codecs import load_codec
from codeckit.convert.dac import dac_model_config, read_dac_checkpoint
from codeckit.errors import ModelDirError

# The released configs' rates and rate, with small widths and few codebooks so a test takes a second.
CONFIGS = {
    "16khz": dict(sample_rate=16000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=4),
    "24khz": dict(sample_rate=24000, encoder_rates=[2, 4, 5, 8], decoder_rates=[8, 5, 4, 2], n_codebooks=5),
    "44khz": dict(sample_rate=44100, encoder_rates=[2, 4, 8, 8], decoder_rates=[8, 8, 4, 2], n_codebooks=3),
}
SMALL = dict(encoder_dim=8, decoder_dim=96, codebook_size=64, codebook_dim=8)


def _reference(name: str):
    """A random-init reference DAC (the package's own init, plus random Snake alphas and weight-norm gains)."""
    dac = import_reference("dac")
    torch.manual_seed(0)
    model = dac.DAC(**SMALL, **CONFIGS[name]).eval()
    with torch.no_grad():
        for key, p in model.named_parameters():
            if key.endswith("alpha"):
                p.copy_(0.5 + torch.rand_like(p))
    return model


@pytest.fixture(scope="module", params=list(CONFIGS))
def converted(request, tmp_path_factory):
    ref = _reference(request.param)
    src = tmp_path_factory.mktemp(f"dac_{request.param}") / f"weights_{request.param}.pth"
    ref.save(str(src), package=False)  # as DAC writes its releases: state_dict + metadata.kwargs
    dst = tmp_path_factory.mktemp("dac_dst") / "model"
    assert main(["convert", "--from", "dac", str(src), str(dst)]) == 0
    return ref, load_codec(dst), src


def test_codes_and_audio_match_reference(converted):
    ref, codec, _ = converted
    assert codec.sample_rate == ref.sample_rate and codec.hop_length == ref.hop_length
    torch.manual_seed(1)
    length = 3 * int(ref.hop_length) + 77  # not a multiple of the hop: both right-pad it
    audio = torch.randn(2, 1, length) * 0.3
    with torch.inference_mode():
        _, ref_codes, *_ = ref.encode(ref.preprocess(audio, ref.sample_rate))
        codes = codec.encode(audio)
        assert len(codes) == ref_codes.shape[1] and codes[0].shape == (2, 4)
        for i, c in enumerate(codes):
            assert c.dtype == torch.int64 and torch.equal(c, ref_codes[:, i])
        ref_audio = ref.decode(ref.quantizer.from_codes(ref_codes)[0])
        out = codec.decode(codes, length=length)
    n = min(length, ref_audio.shape[-1])  # DAC's odd stride 5 drops one sample per layer at the end
    assert out.shape == audio.shape and n >= length - 8
    assert (out[..., :n] - ref_audio[..., :n]).abs().max().item() <= 1e-4


def test_fewer_codebooks_decode_like_reference(converted):
    ref, codec, _ = converted
    torch.manual_seed(2)
    codes = torch.randint(0, SMALL["codebook_size"], (1, 2, 5))
    with torch.inference_mode():
        ref_audio = ref.decode(ref.quantizer.from_codes(codes)[0])
        out = codec.decode(list(codes.unbind(1)))
    n = ref_audio.shape[-1]
    assert (out[..., :n] - ref_audio).abs().max().item() <= 1e-4


def test_metadata_maps_to_config(converted):
    ref, codec, src = converted
    kwargs, state = read_dac_checkpoint(src)
    config = dac_model_config(kwargs)
    assert config["sample_rate"] == ref.sample_rate
    assert config["quantizer"]["n_levels"] == ref.n_codebooks
    assert config["decoder"]["reference_lengths"] is True
    assert any(k.endswith("weight_g") or "parametrizations" in k for k in state)


def test_released_sizes_map_every_tensor():
    """The full 44.1 kHz release (76M parameters): every reference tensor has a codeckit counterpart."""
    from codeckit.codecs import build_codec
    from codeckit.convert.dac import DAC_DEFAULTS
    from codeckit.convert.weights import RENAMES, map_state

    dac = import_reference("dac")
    ref = dac.DAC(**DAC_DEFAULTS)
    codec = build_codec(dac_model_config({}))  # the defaults are the 44.1 kHz release's
    mapped = map_state(ref.state_dict(), codec.state_dict(), RENAMES, "DAC")
    assert set(mapped) == set(codec.state_dict())


def test_file_without_metadata_is_refused(tmp_path):
    ref = _reference("16khz")
    path = tmp_path / "weights.pth"
    torch.save(ref.state_dict(), path)
    with pytest.raises(ModelDirError, match="metadata.kwargs"):
        read_dac_checkpoint(path)
    torch.save({"state_dict": ref.state_dict(), "metadata": {"kwargs": {**CONFIGS["16khz"], "width": 3}}}, path)
    assert main(["convert", "--from", "dac", str(path), str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
