"""Parity with the reference `moshi` package: a small random-init Mimi (SEANet, projected causal transformers with
a context window, learnt down/up-sampling, split RVQ) converted into codeckit gives identical codes and the same
audio within 1e-4; streaming equals offline; the released config maps tensor for tensor."""

from __future__ import annotations

import copy
import json

import pytest
import torch

pytest.importorskip("moshi")
pytest.importorskip("sentencepiece")  # moshi.models imports it

from mimi_sizes import toy_mimi_config  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from codeckit.codecs import build_codec, load_codec  # noqa: E402
from codeckit.convert.mimi import (  # noqa: E402
    convert_mimi,
    map_mimi_state,
    mimi_config,
    mimi_model_config,
)
from codeckit.errors import ModelDirError  # noqa: E402
from codeckit.modeldir import load_state_checked  # noqa: E402

N_Q = 8


def _small_config() -> dict:
    """A Mimi of the released layout at toy sizes: hop 80 (300 Hz) -> 150 Hz codes, context 16 frames."""
    return toy_mimi_config(32, N_Q, 64, d_model=48, num_heads=4, num_layers=2, context=16, dim_feedforward=64)


def _reference(cfg: dict, seed: int = 0):
    """moshi's MimiModel with random weights, layer scales and (initialised) codebooks."""
    from moshi.models.loaders import get_mimi

    torch.manual_seed(seed)
    model = get_mimi(None, cfg, num_codebooks=cfg["quantizer"]["n_q"]).eval()
    audio = 0.3 * torch.randn(2, 1, 12000)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".scale"):  # layer scales start at 0.01: make the transformers matter
                p.copy_(0.5 + torch.rand_like(p))
        emb = model._encode_to_unquantized_latent(audio)
        for rvq in (model.quantizer.rvq_first, model.quantizer.rvq_rest):
            latents = rvq.input_proj(emb)
            mean = latents.mean((0, 2))
            spread = float((latents - mean[:, None]).std())  # codes spread over the latents' own range
            for i, layer in enumerate(rvq.vq.layers):
                book = layer._codebook
                codes = spread * 0.8**i * torch.randn_like(book.embedding_sum) + (mean if i == 0 else 0.0)
                book.cluster_usage.copy_(0.5 + torch.rand_like(book.cluster_usage))
                book.embedding_sum.copy_(codes * book.cluster_usage[:, None])
                book._initialized.fill_(1.0)
    return _fresh_codebooks(model)


def _fresh_codebooks(model):
    """Drop moshi's cached codebook tables (`_embedding`), which loading new buffers does not refresh."""
    from moshi.quantization.core_vq import EuclideanCodebook

    for m in model.modules():
        if isinstance(m, EuclideanCodebook):
            m.register_buffer("_embedding", None, persistent=False)
    return model


@pytest.fixture(scope="module")
def models(tmp_path_factory, torch_threads):
    with torch_threads(1):  # small convs on a loaded 2-core machine run far faster on one thread
        cfg = _small_config()
        ref = _reference(cfg)
        folder = tmp_path_factory.mktemp("mimi")
        save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(folder / "tokenizer-test.safetensors"))
        (folder / "mimi_config.json").write_text(json.dumps(cfg))
        out = convert_mimi(folder, tmp_path_factory.mktemp("converted") / "model")  # finds weights and config
        yield ref, load_codec(out).eval(), cfg


@pytest.mark.parametrize("n_q", [N_Q, 3])
def test_codes_and_audio_match_reference(models, n_q):
    from moshi.utils.compile import no_compile

    ref, codec, _ = models
    torch.manual_seed(1)
    audio = 0.3 * torch.randn(2, 1, 12000 - 37)  # not a multiple of the hop: both pad to 160 samples
    with torch.no_grad(), no_compile():
        ref.set_num_codebooks(n_q)
        ref_codes = ref.encode(audio)  # (B, K, frames)
        ref_audio = ref.decode(ref_codes)
        codes = codec.encode(audio, n_quantizers=n_q)
        out = codec.decode([ref_codes[:, i] for i in range(n_q)])
        latents = codec.encoder(codec.pad(audio))
        ref_latents = ref._encode_to_unquantized_latent(audio)
    ref.set_num_codebooks(N_Q)
    assert ref_codes.shape == (2, n_q, 75) and len(codes) == n_q
    assert torch.equal(torch.stack(codes, 1), ref_codes)
    assert all(ref_codes[:, i].unique().numel() > 5 for i in range(n_q))  # the codebooks are really used
    assert (latents - ref_latents).abs().max().item() <= 1e-4
    assert out.shape == ref_audio.shape
    assert (out - ref_audio).abs().max().item() <= 1e-4
    assert ref_audio.abs().max().item() > 1e-3


def test_declares_rates_and_sizes(models):
    _, codec, _ = models
    assert codec.hop_length == 160 and codec.frame_rates == [150.0] * N_Q
    assert codec.codebook_sizes == [64] * N_Q and codec.n_frames(12000) == [75] * N_Q


def test_streaming_equals_offline(models):
    _, codec, _ = models
    torch.manual_seed(2)
    audio = 0.3 * torch.randn(2, 1, 160 * 40)  # 80 transformer frames: well past the 16-frame context
    with torch.no_grad():
        codes = codec.encode(audio)
        offline = codec.decode(codes)
        chunks = [1, 3, 16, 20]  # in hops
        assert sum(chunks) == 40
        got, pieces, start = [], [], 0
        with codec.streaming(2):
            for n in chunks:
                got.append(codec.encode(audio[..., start * 160 : (start + n) * 160]))
                start += n
        with codec.streaming(2):
            start = 0
            for n in chunks:
                pieces.append(codec.decode([c[:, start : start + n] for c in codes]))
                start += n
    streamed = [torch.cat([g[i] for g in got], dim=1) for i in range(N_Q)]
    assert all(torch.equal(a, b) for a, b in zip(streamed, codes))
    assert (torch.cat(pieces, dim=-1) - offline).abs().max().item() <= 1e-5


def test_legacy_names_bf16_and_fewer_codebooks(models, tmp_path):
    """Older moshi checkpoints name the attention `in_proj_weight` / `out_proj.weight`; bf16 becomes float32."""
    from moshi.utils.compile import no_compile

    ref, _, cfg = models
    state = {}
    for k, v in ref.state_dict().items():
        k = k.replace("self_attn.in_projs.0.weight", "self_attn.in_proj_weight")
        state[k.replace("self_attn.out_projs.0.weight", "self_attn.out_proj.weight")] = v.to(torch.bfloat16)
    out = convert_mimi(state, tmp_path / "bf16", n_codebooks=4, config=cfg)
    codec = load_codec(out)
    assert codec.n_levels == 4
    weight = codec.state_dict()["encoder.transformer.layers.1.attn.in_proj.weight"]
    assert weight.dtype == torch.float32
    assert torch.equal(weight, state["encoder_transformer.transformer.layers.1.self_attn.in_proj_weight"].float())
    rounded = copy.deepcopy(ref)
    rounded.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in ref.state_dict().items()})
    _fresh_codebooks(rounded)
    audio = 0.3 * torch.randn(1, 1, 160 * 10)
    with torch.no_grad(), no_compile():
        rounded.set_num_codebooks(4)
        assert torch.equal(torch.stack(codec.encode(audio), 1), rounded.encode(audio))


def test_released_config_maps_tensor_for_tensor():
    """The released Mimi (32 codebooks of 2048, 8-layer transformers): every moshi tensor has its codeckit
    counterpart of the same shape; nothing runs."""
    from moshi.models.loaders import get_mimi

    torch.manual_seed(0)
    ref = get_mimi(None, num_codebooks=32)
    state = ref.state_dict()
    codec = build_codec(mimi_model_config(mimi_config(None), 32))
    mapped = map_mimi_state(state, 1, 32)
    load_state_checked(codec, mapped, source="released")
    assert codec.hop_length == 1920 and codec.frame_rates[0] == 12.5 and codec.n_levels == 32
    assert codec.bitrate(8) == 12.5 * 11 * 8  # Moshi's 1.1 kbps
    assert sum(p.numel() for p in codec.parameters()) == sum(p.numel() for p in ref.parameters())
    book = ref.quantizer.rvq_rest.vq.layers[30]._codebook
    assert torch.equal(codec.quantizer.acoustic.rvq.levels[30].embed, book.embedding)


def test_bad_sources_and_configs(models, tmp_path):
    ref, _, cfg = models
    state = ref.state_dict()
    with pytest.raises(ModelDirError, match="unknown Mimi config key 'transformer.foo'"):
        convert_mimi(state, tmp_path / "a", config={**cfg, "transformer": {"foo": 1}})
    with pytest.raises(ModelDirError, match="'transformer.gating' is 'silu'"):
        convert_mimi(state, tmp_path / "a", config={**cfg, "transformer": {**cfg["transformer"], "gating": "silu"}})
    with pytest.raises(ModelDirError, match="n_codebooks must be in 2..8"):
        convert_mimi(state, tmp_path / "a", n_codebooks=9, config=cfg)
    with pytest.raises(ModelDirError, match="transformers-format Mimi"):
        convert_mimi({"quantizer.semantic_residual_vector_quantizer.x": torch.zeros(1)}, tmp_path / "a")
    with pytest.raises(ModelDirError, match="not a moshi Mimi state dict"):
        convert_mimi({"foo.weight": torch.zeros(1)}, tmp_path / "a")
    with pytest.raises(ModelDirError, match="Mimi source not found"):
        convert_mimi(tmp_path / "missing", tmp_path / "a")
    with pytest.raises(ModelDirError, match="has shape"):  # a config that does not fit the weights
        convert_mimi(state, tmp_path / "a", config={**cfg, "seanet": {**cfg["seanet"], "n_filters": 8}})
