"""EMA-updated VQ: EnCodec-compatible buffers and parity, EMA math, k-means init, dead-code replacement."""

import pytest
import torch
from reference_packages import import_reference

from codeckit.quantizers.kmeans import kmeans, kmeans_plusplus
from codeckit.registry import QUANTIZERS

EMA = {"name": "vq", "dim": 4, "codebook_size": 8, "update": "ema"}


def clusters(n_per: int, centers: torch.Tensor, spread: float = 0.01) -> torch.Tensor:
    """(1, D, n_per * K) latents around each row of `centers` (K, D), shuffled."""
    x = centers.repeat_interleave(n_per, 0) + spread * torch.randn(n_per * len(centers), centers.shape[1])
    return x[torch.randperm(len(x))].t()[None]


def test_buffers_match_encodec_names_and_shapes():
    q = QUANTIZERS.build({**EMA, "kmeans_init": True})
    state = q.state_dict()
    assert set(state) == {"inited", "cluster_size", "embed", "embed_avg"}
    assert state["embed"].shape == state["embed_avg"].shape == (8, 4)
    assert state["cluster_size"].shape == (8,) and float(state["inited"]) == 0.0
    assert not any(p.requires_grad for p in q.parameters())


def test_one_ema_step_follows_the_update_rule():
    q = QUANTIZERS.build({**EMA, "decay": 0.9, "epsilon": 1e-3})
    x = torch.randn(2, 4, 6)
    embed_avg, cluster_size = q.embed_avg.clone(), q.cluster_size.clone()
    codes = q.eval()(x).codes[0].reshape(-1)
    flat = x.transpose(1, 2).reshape(-1, 4)
    out = q.train()(x)
    assert torch.equal(out.codes[0].reshape(-1), codes)  # codes come from the codebook before the update
    onehot = torch.nn.functional.one_hot(codes, 8).float()
    cs = 0.9 * cluster_size + 0.1 * onehot.sum(0)
    ea = 0.9 * embed_avg + 0.1 * onehot.t() @ flat
    n = cs.sum()
    expected = ea / ((cs + 1e-3) / (n + 8e-3) * n)[:, None]
    assert torch.allclose(q.cluster_size, cs) and torch.allclose(q.embed_avg, ea, atol=1e-6)
    assert torch.allclose(q.embed, expected, atol=1e-5)
    assert set(out.losses) == {"commitment"}


def test_ema_moves_codes_to_cluster_means():
    centers = torch.randn(8, 4) * 3
    q = QUANTIZERS.build({**EMA, "kmeans_init": True, "kmeans_iters": 10, "decay": 0.5})
    for _ in range(10):
        q(clusters(20, centers))
    dist = torch.cdist(centers, q.embed).min(1).values
    assert float(dist.max()) < 0.1
    assert float(q.eval()(clusters(5, centers)).stats["utilization/0"]) == 1.0


def test_kmeans_plusplus_and_lloyd_find_separated_clusters():
    centers = torch.randn(6, 3) * 10
    x = clusters(30, centers, 0.1)[0].t()
    seeds = kmeans_plusplus(x, 6)
    assert all(any(torch.equal(s, r) for r in x) for s in seeds)  # seeds are data points
    found, counts = kmeans(x, 6, iters=20)
    assert float(torch.cdist(centers, found).min(1).values.max()) < 0.1
    assert sorted(counts.tolist()) == [30.0] * 6
    few, few_counts = kmeans(x[:4], 6, iters=3)  # fewer points than codes: still k centroids
    assert few.shape == (6, 3) and float(few_counts.sum()) == 4


def test_kmeans_init_runs_once_on_first_training_batch():
    q = QUANTIZERS.build({**EMA, "kmeans_init": True, "kmeans_iters": 5})
    before = q.embed.clone()
    q.eval()(torch.randn(1, 4, 16))
    assert torch.equal(q.embed, before) and float(q.inited) == 0.0  # eval does not initialize
    x = torch.randn(1, 4, 64)
    q.train()(x)
    assert float(q.inited) == 1.0
    assert float(q.cluster_size.sum()) == pytest.approx(64.0, rel=0.05)
    after = q.embed.clone()
    q(x * 100)  # no second k-means: the EMA moves codes only part of the way
    assert float((q.embed - after).abs().max()) < float((x * 100).abs().max())


@pytest.mark.parametrize("update", ["ema", "grad"])
def test_dead_codes_are_replaced_by_batch_latents_and_survive_the_step(update):
    q = QUANTIZERS.build({**EMA, "update": update, "dead_code_threshold": 2.0, "decay": 0.5})
    with torch.no_grad():
        q.weight.copy_(torch.full((8, 4), 100.0))
        q.weight[0] = 0.0
    if update == "ema":
        q.embed_avg.copy_(q.embed)
        q.cluster_size.fill_(1.0)
    x = 0.1 * torch.randn(1, 4, 20)  # every frame picks code 0: codes 1..7 are dead
    q(x)
    rows = x[0].t()
    for k in range(1, 8):
        assert any(torch.equal(q.weight[k], r) for r in rows), k  # a latent, not overwritten by the EMA
    assert len({tuple(q.weight[k].tolist()) for k in range(1, 8)}) == 7  # distinct latents
    if update == "ema":
        assert torch.allclose(q.cluster_size[1:], torch.full((7,), 2.0))
        assert torch.allclose(q.embed_avg[1:], q.embed[1:] * 2.0)
        assert float(q.cluster_size[0]) > 2.0
    # the replaced codes are used from now on
    assert float(q.eval()(x).stats["utilization/0"]) > 1 / 8


def test_ema_counts_only_items_a_level_is_active_for():
    q = QUANTIZERS.build({"name": "rvq", "n_levels": 2, "level": EMA, "dropout": 1.0, "dropout_choices": [1]})
    before = [lvl.cluster_size.clone() for lvl in q.levels]
    embed1 = q.levels[1].embed.clone()
    q(torch.randn(3, 4, 8))
    assert float(q.levels[0].cluster_size.sum()) == pytest.approx(0.99 * 8 + 0.01 * 24)
    assert torch.equal(q.levels[1].cluster_size, before[1])  # nobody used level 1: no decay
    assert torch.equal(q.levels[1].embed, embed1)


@pytest.fixture
def encodec_vq():
    return import_reference("encodec.quantization.vq")  # encodec names torchaudio, which the quantizer never calls


def test_encodec_rvq_weights_map_over_and_agree(encodec_vq):
    ref = encodec_vq.ResidualVectorQuantizer(dimension=8, n_q=4, bins=16, kmeans_iters=3)
    ref.train()
    ref(torch.randn(2, 8, 40), sample_rate=75 * 4, bandwidth=None)  # k-means init and one EMA step
    q = QUANTIZERS.build(
        {"name": "rvq", "n_levels": 4, "level": {"name": "vq", "dim": 8, "codebook_size": 16, "update": "ema"}}
    )
    state = {k.replace("vq.layers.", "levels.").replace("._codebook.", "."): v for k, v in ref.state_dict().items()}
    q.load_state_dict(state)
    ref.eval()
    q.eval()
    x = torch.randn(2, 8, 12)
    with torch.no_grad():
        ref_codes = ref.encode(x, sample_rate=75 * 4, bandwidth=None)
        codes = q.encode(x)
        assert torch.equal(torch.stack(codes), ref_codes)
        assert torch.allclose(q.decode(codes), ref.decode(ref_codes), atol=1e-5)
        assert torch.allclose(q(x).quantized, ref(x, sample_rate=75 * 4).quantized, atol=1e-5)
