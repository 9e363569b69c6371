"""k-means for codebook initialization: k-means++ seeding, then Lloyd iterations.

Under torch.distributed the seeds come from rank 0 and every Lloyd step sums the cluster statistics
over ranks, so all ranks end with the same centroids computed from all ranks' data.
"""

from __future__ import annotations

import torch

from codeckit.quantizers.common import nearest
from codeckit.quantizers.distributed import all_reduce_sum_, broadcast_, rank


def kmeans_plusplus(x: torch.Tensor, k: int) -> torch.Tensor:
    """k seeds from the rows of `x` (N, d): the first uniformly, each next with probability ~ squared distance."""
    n = x.shape[0]
    centers = torch.empty(k, x.shape[1], dtype=x.dtype, device=x.device)
    first = int(torch.randint(n, (1,)))
    centers[0] = x[first]
    d2 = (x - x[first]).pow(2).sum(1)
    for i in range(1, k):
        total = d2.sum()
        if float(total) > 0:
            j = int(torch.multinomial(d2 / total, 1))
        else:  # fewer distinct points than codes: repeat random points
            j = int(torch.randint(n, (1,)))
        centers[i] = x[j]
        d2 = torch.minimum(d2, (x - x[j]).pow(2).sum(1))
    return centers


def kmeans(x: torch.Tensor, k: int, iters: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Centroids (k, d) and their cluster sizes (k,) after k-means++ seeding and `iters` Lloyd steps.

    Empty clusters keep their previous centroid.
    """
    x = x.detach().float()
    centers = kmeans_plusplus(x, k) if rank() == 0 else torch.zeros(k, x.shape[1], device=x.device)
    broadcast_(centers)
    counts = torch.zeros(k, device=x.device)
    for step in range(iters + 1):
        assign = nearest(x, centers)
        counts = all_reduce_sum_(torch.bincount(assign, minlength=k).float())
        if step == iters:
            break
        sums = all_reduce_sum_(torch.zeros_like(centers).index_add_(0, assign, x))
        filled = counts > 0
        centers[filled] = sums[filled] / counts[filled, None]
    return centers, counts
