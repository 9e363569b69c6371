"""SimVQ and FSQ: round trips, what trains, frozen codebook, decode applies W, FSQ's grid."""

import pytest
import torch

from codeckit.registry import QUANTIZERS

SPECS = {
    "simvq": {"name": "simvq", "dim": 8, "codebook_size": 64},
    "fsq": {"name": "fsq", "dim": 8, "levels": [8, 5, 5, 5]},
    "fsq_noproj": {"name": "fsq", "dim": 3, "levels": [4, 3, 2]},
    "rvq_simvq": {"name": "rvq", "n_levels": 3, "level": {"name": "simvq", "dim": 8, "codebook_size": 64}},
    "multiscale_fsq": {
        "name": "multiscale_rvq",
        "strides": [2, 1],
        "level": {"name": "fsq", "dim": 8, "levels": [5, 5]},
    },
}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_round_trip_shapes_and_gradient(spec):
    q = QUANTIZERS.build(spec)
    x = (2 * torch.randn(3, q.dim, 8)).requires_grad_(True)
    out = q(x)
    assert out.quantized.shape == x.shape
    for c, k, s in zip(out.codes, q.codebook_sizes, q.strides):
        assert c.dtype == torch.int64 and c.shape == (3, 8 // s) and 0 <= int(c.min()) and int(c.max()) < k
    out.quantized.sum().backward()
    assert x.grad.abs().sum() > 0
    q.eval()
    with torch.no_grad():
        out = q(x)
        assert torch.equal(q.decode(q.encode(x)), out.quantized)


def test_simvq_codebook_is_frozen_and_losses_train_only_the_map():
    q = QUANTIZERS.build(SPECS["simvq"])
    assert not q.codebook.weight.requires_grad
    assert float(q.codebook.weight.std()) == pytest.approx(8**-0.5, rel=0.15)
    assert q.proj.bias is not None
    x = torch.randn(2, 8, 16, requires_grad=True)
    out = q(x)
    out.losses["codebook"].backward()
    assert q.proj.weight.grad.abs().sum() > 0 and q.proj.bias.grad.abs().sum() > 0
    assert q.codebook.weight.grad is None and (x.grad is None or x.grad.abs().sum() == 0)
    q.zero_grad()
    commitment = q(x).losses["commitment"]
    commitment.backward()
    assert x.grad.abs().sum() > 0 and (q.proj.weight.grad is None or q.proj.weight.grad.abs().sum() == 0)
    q.zero_grad()
    with torch.no_grad():
        q_raw = q(x).quantized
        mse = (x - q_raw).pow(2).mean()
    assert float(commitment.detach()) == pytest.approx(0.25 * float(mse), rel=1e-5)


def test_simvq_decode_applies_the_learned_map():
    q = QUANTIZERS.build(SPECS["simvq"]).eval()
    with torch.no_grad():
        q.proj.weight.mul_(3.0)
        q.proj.bias.fill_(0.5)
    codes = torch.tensor([[0, 5, 63]])
    z = q.decode([codes])
    expected = q.codebook.weight[codes[0]] @ q.proj.weight.t() + 0.5
    assert torch.allclose(z[0].t(), expected, atol=1e-6)
    assert not torch.allclose(z[0].t(), q.codebook.weight[codes[0]])


def test_simvq_one_step_moves_all_codes():
    q = QUANTIZERS.build(SPECS["simvq"])
    before = q.weight.detach().clone()
    out = q(torch.randn(1, 8, 4))  # at most 4 of 64 codes are picked
    sum(out.losses.values()).backward()
    with torch.no_grad():
        for p in q.parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
    moved = (q.weight.detach() - before).norm(dim=1)
    assert bool((moved > 0).all())


def test_fsq_grid_values_and_codes_cover_the_product():
    q = QUANTIZERS.build(SPECS["fsq_noproj"]).eval()
    assert q.codebook_sizes == [24]
    grid = torch.stack(torch.meshgrid(*[torch.linspace(-6, 6, 41)] * 3, indexing="ij")).reshape(3, -1)[None]
    codes = q.encode(grid)[0]
    assert set(codes.unique().tolist()) == set(range(24))
    z = q.decode([torch.arange(24)[None]])[0]
    for ch, n in enumerate([4, 3, 2]):
        half = n // 2
        assert set(z[ch].tolist()) == {(d - half) / half for d in range(n)}
    assert q(grid).losses == {}
