"""Two gloo processes with different data end with identical codebooks (k-means init, EMA, dead codes)."""

import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from codeckit.registry import QUANTIZERS

SPEC = {
    "name": "rvq",
    "n_levels": 2,
    "dropout": 0.5,
    "level": {
        "name": "vq",
        "dim": 4,
        "codebook_size": 16,
        "update": "ema",
        "kmeans_init": True,
        "kmeans_iters": 4,
        "dead_code_threshold": 1.0,
    },
}
GRAD = {"name": "vq", "dim": 4, "codebook_size": 16, "dead_code_threshold": 0.5}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)  # same initial codebooks, as DDP would broadcast them
        rvq, grad_vq = QUANTIZERS.build(SPEC), QUANTIZERS.build(GRAD)
        torch.manual_seed(100 + rank)  # different data and dropout per rank
        first = None
        for step in range(4):
            x = torch.randn(2 + rank, 4, 8) * (1 + step)
            rvq(x)
            grad_vq(x)
            if first is None:
                first = {k: v.clone() for k, v in rvq.state_dict().items()}
        torch.save({"first": first, "last": rvq.state_dict(), "grad": grad_vq.state_dict()}, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_rank_codebooks_stay_identical(tmp_path):
    # fork: the children reuse the imported torch instead of importing it again (seconds on a busy machine)
    mp.start_processes(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for part in ("first", "last", "grad"):
        assert r0[part].keys() == r1[part].keys()
        for k in r0[part]:
            assert torch.equal(r0[part][k], r1[part][k]), (part, k)
    assert float(r0["last"]["levels.1.inited"]) == 1.0
    assert not torch.equal(r0["first"]["levels.0.embed"], r0["last"]["levels.0.embed"])  # the EMA did move codes
