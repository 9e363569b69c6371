"""Parity with the reference `encodec` package: a random-init EnCodec 24 kHz converted into codeckit gives
identical codes and audio within 1e-5 at 1.5 and 6 kbps."""

from __future__ import annotations

import pytest
import torch
from reference_packages import import_reference

from codeckit.codecs import load_codec
from codeckit.convert.encodec import convert_encodec, find_encodec_weights
from codeckit.errors import ModelDirError


def _encodec_model():
    """The reference model with random weights and random (inited) codebooks."""
    EncodecModel = import_reference("encodec").EncodecModel

    torch.manual_seed(0)
    model = EncodecModel.encodec_model_24khz(pretrained=False).eval()
    with torch.no_grad():
        for layer in model.quantizer.vq.layers:
            book = layer._codebook
            book.embed.copy_(torch.randn_like(book.embed) * 0.3)
            book.embed_avg.copy_(book.embed * 3.0)
            book.cluster_size.fill_(3.0)
            book.inited.fill_(1.0)
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory, torch_threads):
    with torch_threads(1):  # small convs on a loaded 2-core machine run far faster on one thread
        ref = _encodec_model()
        ckpt = tmp_path_factory.mktemp("encodec") / "encodec_24khz-random.th"
        torch.save(ref.state_dict(), ckpt)
        out = convert_encodec(ckpt, tmp_path_factory.mktemp("converted") / "model")
        yield ref, load_codec(out).eval(), ckpt


@pytest.mark.parametrize("bandwidth,n_q", [(1.5, 2), (6.0, 8)])
def test_codes_and_audio_match_reference(models, bandwidth, n_q):
    ref, codec, _ = models
    torch.manual_seed(1)
    audio = 0.3 * torch.randn(2, 1, 320 * 12)
    with torch.no_grad():
        ref.set_target_bandwidth(bandwidth)
        ((ref_codes, _),) = ref.encode(audio)  # (B, n_q, frames)
        ref_audio = ref.decode([(ref_codes, None)])
        codes = codec.encode(audio, n_quantizers=n_q)
        out = codec.decode(codes, length=audio.shape[-1])
    assert ref_codes.shape[1] == n_q == len(codes)
    assert torch.equal(torch.stack(codes, 1), ref_codes)
    assert codec.bitrate(n_q) == bandwidth * 1000
    assert (out - ref_audio).abs().max().item() < 1e-5
    # the two halves also agree with EnCodec's encoder and decoder alone
    with torch.no_grad():
        assert (codec.encoder(audio) - ref.encoder(audio)).abs().max().item() < 1e-5


def test_converted_state_matches_tensor_for_tensor(models):
    ref, codec, _ = models
    ours = codec.state_dict()
    assert ours["quantizer.levels.5.embed"].equal(ref.state_dict()["quantizer.vq.layers.5._codebook.embed"])
    assert len(ours) == len(ref.state_dict())
    assert sum(p.numel() for p in codec.parameters()) == sum(p.numel() for p in ref.parameters())


def test_convert_command_and_in_memory_state(models, tmp_path):
    from codeckit.cli import main

    ref, codec, ckpt = models
    assert main(["convert", "--from", "encodec", str(ckpt), str(tmp_path / "cli")]) == 0
    from_cli = load_codec(tmp_path / "cli").state_dict()
    from_memory = load_codec(convert_encodec(ref.state_dict(), tmp_path / "mem")).state_dict()
    for key, value in codec.state_dict().items():
        assert torch.equal(value, from_cli[key]) and torch.equal(value, from_memory[key])


def test_folder_source_and_bad_sources(tmp_path):
    (tmp_path / "a.th").write_bytes(b"not a checkpoint")
    assert find_encodec_weights(tmp_path) == tmp_path / "a.th"
    with pytest.raises(ModelDirError, match="cannot read weights"):
        convert_encodec(tmp_path, tmp_path / "out")
    (tmp_path / "b.th").write_bytes(b"")
    with pytest.raises(ModelDirError, match="expected one EnCodec checkpoint"):
        convert_encodec(tmp_path, tmp_path / "out")
    with pytest.raises(ModelDirError, match="no such EnCodec checkpoint"):
        convert_encodec(tmp_path / "missing.th", tmp_path / "out")
    with pytest.raises(ModelDirError, match="not an EnCodec state dict"):
        convert_encodec({"foo.weight": torch.zeros(1)}, tmp_path / "out")
    with pytest.raises(ModelDirError, match="time-group norm"):
        convert_encodec({"encoder.model.0.conv.norm.weight": torch.zeros(1)}, tmp_path / "out")
