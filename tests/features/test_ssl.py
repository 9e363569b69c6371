"""The `ssl` encoder loads HuBERT, WavLM and wav2vec 2.0 (XLS-R's stable-layer-norm layout) through `hf:` from a
local fake hub (tests/api/fake_hub.py) serving random-init tiny models saved with `save_pretrained`; its features
have shape (B, hidden, T / 320) and equal transformers' own `output_hidden_states` at the chosen layer(s)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

transformers = pytest.importorskip("transformers")
hub_constants = pytest.importorskip("huggingface_hub.constants")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from fake_hub import FakeHub  # noqa: E402

from codeckit.errors import ConfigError  # noqa: E402
from codeckit.registry import ENCODERS  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)  # fmt: skip
MODELS = {
    "hubert": (transformers.HubertConfig, transformers.HubertModel, {}),
    "wavlm": (transformers.WavLMConfig, transformers.WavLMModel, {}),
    "xlsr": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model,
             {"do_stable_layer_norm": True, "feat_extract_norm": "layer"}),
}  # fmt: skip


@pytest.fixture(scope="module")
def hub(tmp_path_factory, torch_threads):
    """The fake hub with `org/tiny-<kind>` for each kind: config.json + model.safetensors of a seeded tiny model."""
    server = FakeHub().start()
    root = tmp_path_factory.mktemp("pretrained")
    with torch_threads(1):
        for i, (kind, (cfg_cls, model_cls, extra)) in enumerate(MODELS.items()):
            torch.manual_seed(i)
            model_cls(cfg_cls(**TINY, **extra)).save_pretrained(root / kind)
            files = {p.name: p.read_bytes() for p in (root / kind).iterdir()}
            server.push(f"org/tiny-{kind}", files)
    yield server, root
    server.stop()


@pytest.fixture(autouse=True)
def local_hub(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(hub_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    # as HF_ENDPOINT=<fake hub> in the environment would set them when huggingface_hub is imported
    monkeypatch.setattr(hub_constants, "ENDPOINT", hub[0].url)
    monkeypatch.setattr(
        hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub[0].url + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def reference(root: Path, kind: str, audio: torch.Tensor, normalize: bool = False) -> tuple[torch.Tensor, ...]:
    """transformers' own hidden states of the full model on the audio padded as documented (80 samples right)."""
    model = transformers.AutoModel.from_pretrained(root / kind).eval()
    x = audio[:, 0]
    x = F.layer_norm(x, x.shape[-1:]) if normalize else x
    with torch.no_grad():
        return model(F.pad(x, (0, 80)), output_hidden_states=True).hidden_states


def _audio(n: int, batch: int = 1) -> torch.Tensor:
    return 0.1 * torch.randn(batch, 1, n, generator=torch.Generator().manual_seed(n))


@pytest.mark.parametrize("kind", list(MODELS))
def test_each_model_loads_from_hf_and_matches_hidden_states(hub, kind, one_thread):
    enc = ENCODERS.build({"name": "ssl", "model": f"hf:org/tiny-{kind}", "layer": 2}).eval()
    assert enc.hop_length == 320 and enc.dim == 32 and len(enc.model.encoder.layers) == 2
    audio = _audio(320 * 10, batch=2)
    with torch.no_grad():
        feats = enc(audio)
    assert feats.shape == (2, 32, 10) and feats.dtype == torch.float32  # 50 Hz at 16 kHz
    ref = reference(hub[1], kind, audio)
    torch.testing.assert_close(feats, ref[2].transpose(1, 2), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("layer", [0, 1, 3, [1, 3]])
def test_layer_selection_matches_output_hidden_states(hub, layer, one_thread):
    enc = ENCODERS.build({"name": "ssl", "model": "hf:org/tiny-xlsr", "layer": layer, "normalize": True})
    audio = _audio(320 * 6)
    with torch.no_grad():
        feats = enc(audio)
    ref = reference(hub[1], "xlsr", audio, normalize=True)
    layers = [layer] if isinstance(layer, int) else layer
    want = torch.stack([ref[k] for k in layers]).mean(0).transpose(1, 2)
    torch.testing.assert_close(feats, want, atol=1e-5, rtol=1e-4)


def test_frozen_and_kept_in_eval_mode(one_thread):
    enc = ENCODERS.build({"name": "ssl", "model": "hf:org/tiny-hubert", "layer": 1})
    enc.train()
    assert not enc.model.training and not any(p.requires_grad for p in enc.parameters())


def test_a_local_folder_works_and_bad_layers_or_models_are_refused(hub, tmp_path):
    enc = ENCODERS.build({"name": "ssl", "model": str(hub[1] / "wavlm"), "layer": 3})
    assert len(enc.model.encoder.layers) == 3
    with pytest.raises(ConfigError, match=r"layer must be in 0\.\.3"):
        ENCODERS.build({"name": "ssl", "model": "hf:org/tiny-hubert", "layer": 4})
    with pytest.raises(ConfigError, match="neither hf:ORG/NAME nor a folder"):
        ENCODERS.build({"name": "ssl", "model": str(tmp_path / "nowhere")})


def test_units_codec_over_ssl_saves_loads_and_tokenizes_alike(hub, tmp_path, one_thread):
    from codeckit.codecs import build_codec, load_codec, save_codec
    from codeckit.quantizers.centroids import write_centroids

    write_centroids(tmp_path / "km.safetensors", torch.randn(16, 32, generator=torch.Generator().manual_seed(0)))
    vocoder = {"name": "unit_hifigan", "latent_dim": 32, "hop_length": 320, "dim": 16, "n_layers": 1}
    encoder = {"name": "ssl", "model": "hf:org/tiny-wavlm", "layer": [1, 2]}
    codec = build_codec({"sample_rate": 16000, "encoder": encoder, "decoder": vocoder,
                         "quantizer": {"name": "kmeans", "centroids": str(tmp_path / "km.safetensors")}})  # fmt: skip
    assert codec.bitrate() == pytest.approx(50 * 4)
    save_codec(codec, tmp_path / "model")
    again = load_codec(tmp_path / "model")
    audio = _audio(320 * 8 + 5)
    with torch.no_grad():
        codes = codec.eval().encode(audio)[0]
        assert codes.shape == (1, 9) and torch.equal(again.encode(audio)[0], codes)
        assert torch.equal(copy.deepcopy(again).encode(audio)[0], codes)  # the layer taps survive a copy
