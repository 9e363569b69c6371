"""The `unit_hifigan` decoder alone: shapes at the unit rate, gradients, causal streaming == offline, speakers,
and the errors its options and inputs raise."""

from __future__ import annotations

import pytest
import torch

from codeckit.errors import ConfigError
from codeckit.nn.streaming import streaming, streams_exactly
from codeckit.nn.unit_vocoder import UnitVocoderError
from codeckit.registry import DECODERS

pytestmark = pytest.mark.usefixtures("one_thread")

HOP = 40
SMALL = {
    "istft": {"generator": "istft", "dim": 32, "n_layers": 2},
    "hifigan": {"generator": "hifigan", "dim": 32, "upsample_rates": [5, 4, 2], "resblock_kernels": [3, 5]},
}


def build(kind: str, causal: bool = False, **extra) -> torch.nn.Module:
    """The small `kind` generator ("istft" or "hifigan") for 39-dim units at hop 40; `extra`: more decoder keys."""
    torch.manual_seed(0)
    spec = {"name": "unit_hifigan", "latent_dim": 39, "hop_length": HOP, **SMALL[kind], "causal": causal}
    return DECODERS.build({**spec, **extra})


def test_registered():
    assert "unit_hifigan" in DECODERS.names()


@pytest.mark.parametrize("generator", ["istft", "hifigan"])
def test_shapes_and_gradients(generator):
    dec = build(generator).train()
    latents = torch.randn(3, 39, 17)
    audio = dec(latents)
    assert audio.shape == (3, 1, 17 * HOP) and audio.dtype == torch.float32
    audio.square().mean().backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in dec.parameters())


@pytest.mark.parametrize("generator", ["istft", "hifigan"])
def test_causal_streaming_equals_offline(generator):
    dec = build(generator, causal=True, n_speakers=3, speaker_dim=4).eval()
    latents = torch.randn(2, 39, 23)
    speaker = torch.tensor([2, 0])
    assert streams_exactly(dec)
    with torch.no_grad():
        offline = dec(latents, speaker=speaker)
        with streaming(dec, 2):
            pieces = [dec(latents[..., a : a + n], speaker=speaker) for a, n in ((0, 1), (1, 5), (6, 3), (9, 14))]
    assert torch.allclose(torch.cat(pieces, -1), offline, atol=1e-5)


def test_non_causal_decoding_is_not_causal():
    """Centred convs look ahead: changing a late frame changes earlier samples (the causal one does not)."""
    latents = torch.randn(1, 39, 12)
    later = latents.clone()
    later[..., 8:] += 1.0
    for causal, changed in ((False, True), (True, False)):
        dec = build("istft", causal=causal).eval()
        with torch.no_grad():
            diff = (dec(latents) - dec(later))[..., : 6 * HOP].abs().max()
        assert bool(diff > 1e-6) == changed


def test_speaker_ids_vectors_and_default():
    dec = build("istft", n_speakers=4, speaker_dim=6, default_speaker=2).eval()
    latents = torch.randn(2, 39, 9)
    with torch.no_grad():
        by_id = dec(latents, speaker=torch.tensor([1, 3]))
        by_vector = dec(latents, speaker=dec.speaker.table.weight[[1, 3]])
        default = dec(latents)
        as_two = dec(latents, speaker=torch.tensor([2, 2]))
        other = dec(latents, speaker=torch.tensor([0, 0]))
    assert torch.allclose(by_id, by_vector, atol=1e-6)
    assert torch.allclose(default, as_two, atol=1e-6)
    assert not torch.allclose(default, other, atol=1e-4)  # the speaker changes the audio


def test_speaker_rows_learn():
    dec = build("istft", n_speakers=3, speaker_dim=4).train()
    dec(torch.randn(2, 39, 5), speaker=torch.tensor([0, 2])).square().mean().backward()
    grad = dec.speaker.table.weight.grad
    assert bool(grad[[0, 2]].abs().sum() > 0) and float(grad[1].abs().sum()) == 0.0


def test_bad_inputs_raise():
    dec = build("istft", n_speakers=2, speaker_dim=4)
    with pytest.raises(UnitVocoderError, match=r"latents must be \(batch, 39, frames\)"):
        dec(torch.randn(1, 40, 5))
    with pytest.raises(UnitVocoderError, match="speaker ids must be in 0..1"):
        dec(torch.randn(1, 39, 5), speaker=torch.tensor([2]))
    with pytest.raises(UnitVocoderError, match=r"vectors \(1, 4\) float"):
        dec(torch.randn(1, 39, 5), speaker=torch.randn(1, 5))
    with pytest.raises(UnitVocoderError, match="n_speakers 0"):
        build("istft")(torch.randn(1, 39, 5), speaker=torch.tensor([0]))


@pytest.mark.parametrize(
    "extra,message",
    [
        ({"generator": "wavenet"}, "generator must be one of"),
        ({"upsample_rates": [5, 4, 4]}, "must multiply to hop_length 40"),
        ({"n_fft": 60}, "n_fft must be >= 2 \\* hop_length"),
        ({"n_speakers": 2, "default_speaker": 2}, "default_speaker must be in 0..1"),
        ({"latent_dim": 0}, "latent_dim must be an integer >= 1"),
    ],
)
def test_bad_options_raise_config_error(extra, message):
    with pytest.raises(ConfigError, match=message):
        build("hifigan" if "upsample_rates" in extra else "istft", **extra)
