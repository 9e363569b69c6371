"""Gradient-updated VQ and its residual / multi-scale forms: shapes, gradients, round trips, SNAC parity."""

import pytest
import torch

from codeckit.quantizers import QuantizerError
from codeckit.registry import QUANTIZERS

FACTORIZED = {"name": "vq", "dim": 16, "codebook_size": 32, "codebook_dim": 4, "l2_normalize": True}
PLAIN = {"name": "vq", "dim": 16, "codebook_size": 32}
SPECS = {
    "vq": PLAIN,
    "vq_factorized": FACTORIZED,
    "vq_rotation": {**PLAIN, "rotation_trick": True},
    "rvq": {"name": "rvq", "n_levels": 3, "level": FACTORIZED},
    "rvq_plain": {"name": "rvq", "n_levels": 3, "level": PLAIN, "dropout": 0.5},
    "multiscale_rvq": {"name": "multiscale_rvq", "strides": [4, 2, 1], "level": FACTORIZED},
}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_shapes_dtypes_and_round_trip(spec):
    q = QUANTIZERS.build(spec)
    x = torch.randn(2, 16, 8)
    out = q(x)
    assert out.quantized.shape == x.shape and out.quantized.dtype == x.dtype
    assert len(out.codes) == q.n_levels == len(q.strides) == len(q.codebook_sizes)
    for c, s, k in zip(out.codes, q.strides, q.codebook_sizes):
        assert c.dtype == torch.int64 and c.shape == (2, 8 // s)
        assert int(c.min()) >= 0 and int(c.max()) < k
    assert all(v.dim() == 0 for v in out.losses.values()) and "commitment" in out.losses
    for i in range(q.n_levels):
        assert 0 < float(out.stats[f"utilization/{i}"]) <= 1
        assert 1 <= float(out.stats[f"perplexity/{i}"]) <= q.codebook_sizes[i]
        assert f"dead_codes/{i}" in out.stats
    q.eval()
    out = q(x)
    codes = q.encode(x)
    assert all(torch.equal(a, b) for a, b in zip(codes, out.codes))
    assert torch.equal(q.decode(codes), out.quantized)


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_straight_through_gradient_reaches_input_and_parameters(spec):
    q = QUANTIZERS.build(spec)
    x = torch.randn(2, 16, 8, requires_grad=True)
    out = q(x, n_quantizers=None if q.n_levels == 1 else 2)
    (out.quantized.pow(2).sum() + sum(out.losses.values())).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in q.named_parameters():
        if name.startswith("levels.2"):
            continue  # not run with n_quantizers=2
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_unprojected_rvq_output_gradient_is_identity_and_later_commitments_reach_encoder():
    q = QUANTIZERS.build({"name": "rvq", "n_levels": 3, "level": PLAIN})
    x = torch.randn(2, 16, 8, requires_grad=True)
    (q(x).quantized * 3.0).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 3.0))
    grads = []
    for n in (1, 2, 3):
        x.grad = None
        q(x, n_quantizers=n).losses["commitment"].backward()
        grads.append(x.grad.clone())
    # each further level adds its own commitment gradient (EnCodec's undetached residual makes these zero)
    assert (grads[1] - grads[0]).abs().sum() > 1e-6
    assert (grads[2] - grads[1]).abs().sum() > 1e-6


def test_codebook_loss_trains_codebook_and_commitment_trains_encoder_side():
    q = QUANTIZERS.build(PLAIN)
    x = torch.randn(2, 16, 8, requires_grad=True)
    q(x).losses["codebook"].backward()
    assert x.grad is None or x.grad.abs().sum() == 0
    assert q.codebook.weight.grad.abs().sum() > 0
    q.zero_grad()
    q(x).losses["commitment"].backward()
    assert q.codebook.weight.grad is None or q.codebook.weight.grad.abs().sum() == 0
    assert x.grad.abs().sum() > 0


def test_l2_normalized_lookup_picks_cosine_nearest_and_returns_raw_code():
    q = QUANTIZERS.build({"name": "vq", "dim": 2, "codebook_size": 2, "l2_normalize": True})
    with torch.no_grad():
        q.codebook.weight.copy_(torch.tensor([[10.0, 0.0], [0.0, 0.1]]))
    x = torch.tensor([[[0.1], [0.2]]])  # closer to code 0 in L2, to code 1 in angle
    out = q.eval()(x)
    assert out.codes[0].item() == 1
    assert torch.allclose(out.quantized[0, :, 0], torch.tensor([0.0, 0.1]))


def test_rotation_trick_value_is_code_and_gradient_differs_from_straight_through():
    x = torch.randn(2, 16, 8)
    grads = []
    for rot in (False, True):
        q = QUANTIZERS.build({**PLAIN, "rotation_trick": rot})
        torch.manual_seed(1)
        q.codebook.reset_parameters()
        xi = x.clone().requires_grad_(True)
        out = q(xi)
        assert torch.equal(out.quantized, q.decode(out.codes))
        (out.quantized * torch.arange(8.0)).sum().backward()
        grads.append(xi.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_snac_parity_codes_and_decode():
    snac_vq = pytest.importorskip("snac.vq")
    ref = snac_vq.ResidualVectorQuantize(16, 32, 4, [4, 2, 1])
    q = QUANTIZERS.build({"name": "multiscale_rvq", "strides": [4, 2, 1], "level": FACTORIZED})
    state = {}
    for k, v in ref.state_dict().items():
        k = k.replace("quantizers.", "levels.").replace(".weight_g", ".parametrizations.weight.original0")
        state[k.replace(".weight_v", ".parametrizations.weight.original1")] = v
    q.load_state_dict(state)  # strict: names and shapes map 1:1
    q.eval()
    x = torch.randn(3, 16, 16)
    with torch.no_grad():
        ref_z, ref_codes = ref(x)
        out = q(x)
        assert all(torch.equal(a, b) for a, b in zip(ref_codes, out.codes))
        assert torch.allclose(ref_z, out.quantized, atol=1e-5)
        assert torch.allclose(ref.from_codes(ref_codes), q.decode(out.codes), atol=1e-6)


def test_multiscale_levels_are_constant_over_their_stride():
    q = QUANTIZERS.build({"name": "multiscale_rvq", "strides": [4, 2, 1], "level": FACTORIZED}).eval()
    codes = q.encode(torch.randn(2, 16, 8))
    level0 = q.levels[0].decode_level(codes[0])
    assert level0.shape == (2, 16, 2)
    only0 = q.decode(codes[:1])
    assert torch.equal(only0, level0.repeat_interleave(4, dim=-1))


def test_n_quantizers_in_train_and_eval_mode():
    q = QUANTIZERS.build({"name": "rvq", "n_levels": 4, "level": PLAIN, "dropout": 1.0})
    x = torch.randn(2, 16, 8)
    for train in (True, False):
        q.train(train)
        out = q(x, n_quantizers=2)
        assert len(out.codes) == 2
        assert torch.equal(out.quantized, q.decode(out.codes))
    assert len(q.encode(x, n_quantizers=3)) == 3
    with pytest.raises(QuantizerError, match="n_quantizers"):
        q(x, n_quantizers=5)


@pytest.mark.parametrize("mode", ["item", "batch"])
def test_dropout_picks_documented_numbers_of_levels(mode):
    q = QUANTIZERS.build(
        {"name": "rvq", "n_levels": 8, "level": PLAIN, "dropout": 1.0, "dropout_mode": mode, "dropout_multiple": 2}
    )
    assert q.dropout_choices == [2, 4, 6, 8]
    kept = torch.stack([q.sample_kept_levels(16, torch.device("cpu")) for _ in range(50)])
    assert set(kept.unique().tolist()) == {2, 4, 6, 8}
    if mode == "batch":
        assert (kept == kept[:, :1]).all()
    q2 = QUANTIZERS.build({"name": "rvq", "n_levels": 8, "level": PLAIN, "dropout": 0.0})
    assert (q2.sample_kept_levels(16, torch.device("cpu")) == 8).all()
    q3 = QUANTIZERS.build({"name": "rvq", "n_levels": 32, "level": PLAIN, "dropout": 0.3, "dropout_choices": [1, 2, 4]})
    kept = torch.stack([q3.sample_kept_levels(64, torch.device("cpu")) for _ in range(50)])
    assert set(kept.unique().tolist()) == {1, 2, 4, 32}
    assert 0.2 < float((kept < 32).float().mean()) < 0.4


def test_dropout_masks_levels_in_forward():
    q = QUANTIZERS.build({"name": "rvq", "n_levels": 3, "level": PLAIN, "dropout": 1.0, "dropout_choices": [1]})
    x = torch.randn(4, 16, 8)
    out = q(x)  # training: every item keeps only its first level
    assert len(out.codes) == 3
    assert torch.equal(out.quantized, q.decode(out.codes[:1]))
    assert float(out.stats["utilization/1"]) == 0.0


def test_bad_inputs_raise_quantizer_error():
    q = QUANTIZERS.build({"name": "multiscale_rvq", "strides": [4, 2, 1], "level": FACTORIZED})
    with pytest.raises(QuantizerError, match="multiple of the largest stride 4"):
        q(torch.randn(1, 16, 6))
    with pytest.raises(QuantizerError, match=r"\(batch, 16, frames\)"):
        q(torch.randn(1, 8, 8))
    with pytest.raises(QuantizerError, match=r"\[0, 32\)"):
        q.decode([torch.full((1, 2), 32)])
    with pytest.raises(QuantizerError, match="int64"):
        q.decode([torch.zeros(1, 2, dtype=torch.int32)])
    with pytest.raises(QuantizerError, match="do not match"):
        q.decode([torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 3, dtype=torch.long)])
    with pytest.raises(QuantizerError, match="one code tensor"):
        QUANTIZERS.build(PLAIN).decode([])


def test_bad_config_raises_config_error():
    from codeckit.errors import ConfigError

    with pytest.raises(ConfigError, match="update"):
        QUANTIZERS.build({**PLAIN, "update": "sgd"})
    with pytest.raises(ConfigError, match="unknown key 'bogus'"):
        QUANTIZERS.build({**PLAIN, "bogus": 1})
    with pytest.raises(ConfigError, match="dropout_choices"):
        QUANTIZERS.build({"name": "rvq", "n_levels": 2, "level": PLAIN, "dropout_choices": [3]})
    with pytest.raises(ConfigError, match="single-codebook"):
        QUANTIZERS.build({"name": "rvq", "n_levels": 2, "level": {"name": "rvq", "n_levels": 2, "level": PLAIN}})


def test_state_dict_names_match_snac_layout():
    q = QUANTIZERS.build({"name": "multiscale_rvq", "strides": [2, 1], "level": FACTORIZED})
    keys = set(q.state_dict())
    assert "levels.1.codebook.weight" in keys and q.state_dict()["levels.1.codebook.weight"].shape == (32, 4)
    assert "levels.0.in_proj.parametrizations.weight.original1" in keys
    assert "levels.0.out_proj.bias" in keys
    assert not any("usage" in k for k in keys)  # statistics buffers are not saved
