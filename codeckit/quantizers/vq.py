"""Vector quantizer with one codebook, updated by gradient (DAC / SNAC) or by EMA (EnCodec).

Gradient update: the codebook is an `nn.Embedding` named `codebook`, trained by the codebook loss
||q - sg(z)||^2; the encoder gets the commitment loss ||z - sg(q)||^2. Optional factorized codes: weight-
normed 1x1 convs `in_proj` / `out_proj` to a small `codebook_dim`, and `l2_normalize` (nearest code by
cosine, the raw code vector returned). These names match SNAC's and DAC's state dicts.

EMA update: buffers `embed` (K, d, used for lookup), `embed_avg`, `cluster_size`, `inited` as in
EnCodec; after each training step cluster sizes and code sums follow an EMA, and `embed` is their
Laplace-smoothed ratio. Under torch.distributed the statistics are summed over ranks first.

Either rule can start from k-means on the first training batch and replace dead codes (running usage
below `dead_code_threshold`) with random current latents, resetting their statistics to match.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from codeckit.errors import ConfigError
from codeckit.quantizers.common import (
    FrozenCodebook,
    LevelOutput,
    code_counts,
    flatten_frames,
    frame_mask,
    nearest,
    rotation_trick,
    stop_grad_mse,
    straight_through,
    usage_stats,
)
from codeckit.quantizers.distributed import all_reduce_sum_, broadcast_, rank
from codeckit.quantizers.kmeans import kmeans
from codeckit.quantizers.level import SingleCodebook
from codeckit.registry import QUANTIZERS


@QUANTIZERS.register("vq")
class VectorQuantizer(SingleCodebook):
    """One codebook of `codebook_size` codes over `dim`-channel latents (see the module docstring).

    Losses (already multiplied by their weights): "commitment", and "codebook" for the gradient rule.
    """

    def __init__(
        self,
        codebook_size: int,
        dim: int,
        codebook_dim: int | None = None,
        l2_normalize: bool = False,
        update: str = "grad",
        decay: float = 0.99,
        epsilon: float = 1e-5,
        kmeans_init: bool = False,
        kmeans_iters: int = 50,
        dead_code_threshold: float = 0.0,
        commitment_weight: float = 0.25,
        codebook_weight: float = 1.0,
        rotation_trick: bool = False,
    ):
        super().__init__()
        if codebook_size < 1 or dim < 1:
            raise ConfigError(f"vq: codebook_size and dim must be positive, got {codebook_size} and {dim}")
        if update not in ("grad", "ema"):
            raise ConfigError(f"vq: update must be 'grad' or 'ema', got '{update}'")
        if not 0.0 < decay < 1.0:
            raise ConfigError(f"vq: decay must be in (0, 1), got {decay}")
        if codebook_dim is not None and codebook_dim < 1:
            raise ConfigError(f"vq: codebook_dim must be positive, got {codebook_dim}")
        if kmeans_iters < 0 or dead_code_threshold < 0 or epsilon <= 0:
            raise ConfigError("vq: kmeans_iters and dead_code_threshold must be >= 0 and epsilon > 0")
        self.dim = dim
        self.codebook_sizes = [codebook_size]
        self.codebook_dim = codebook_dim or dim
        self.l2_normalize = l2_normalize
        self.update = update
        self.decay = decay
        self.epsilon = epsilon
        self.kmeans_init = kmeans_init
        self.kmeans_iters = kmeans_iters
        self.dead_code_threshold = dead_code_threshold
        self.commitment_weight = commitment_weight
        self.codebook_weight = codebook_weight
        self.rotation_trick = rotation_trick

        if self.codebook_dim != dim:
            self.in_proj = weight_norm(nn.Conv1d(dim, self.codebook_dim, 1))
            self.out_proj = weight_norm(nn.Conv1d(self.codebook_dim, dim, 1))
        else:
            self.in_proj = self.out_proj = nn.Identity()

        k, d = codebook_size, self.codebook_dim
        if update == "grad":
            self.codebook = nn.Embedding(k, d)
            self.register_buffer("usage", torch.zeros(k), persistent=False)
            if kmeans_init:
                self.register_buffer("inited", torch.zeros(1))
        else:
            embed = nn.init.kaiming_uniform_(torch.empty(k, d))
            self.register_buffer("inited", torch.tensor([0.0 if kmeans_init else 1.0]))
            self.register_buffer("cluster_size", torch.ones(k))
            self.register_buffer("embed", embed)
            self.register_buffer("embed_avg", embed.clone())

    # -- codebook access -------------------------------------------------------------------------
    @property
    def weight(self) -> torch.Tensor:
        """The (K, codebook_dim) code vectors used for lookup."""
        return self.codebook.weight if self.update == "grad" else self.embed

    def _usage(self) -> torch.Tensor:
        return self.usage if self.update == "grad" else self.cluster_size

    def _lookup(self, codes: torch.Tensor) -> torch.Tensor:
        return F.embedding(codes, self.weight).transpose(1, 2)

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, dim, T) latents -> (B, T) codes: the nearest code of each frame after `in_proj`."""
        z = self.in_proj(latents)
        return nearest(flatten_frames(z), self.weight, self.l2_normalize).view(z.shape[0], z.shape[2])

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) codes -> (B, dim, T): the code vectors through `out_proj`."""
        return self.out_proj(self._lookup(codes))

    def prepare_export(self) -> None:
        """Freeze the current code vectors (`FrozenCodebook`) for `export_encode_level` / `export_decode_level`."""
        self.frozen = FrozenCodebook(self.weight, self.l2_normalize)

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level` through the frozen codebook's unchunked search (after `prepare_export`)."""
        return self.frozen.nearest(self.in_proj(latents))

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level` through the frozen codebook's lookup (after `prepare_export`)."""
        return self.out_proj(self.frozen.lookup(codes))

    # -- training-time codebook updates -----------------------------------------------------------
    @torch.no_grad()
    def _init_from_kmeans(self, x: torch.Tensor) -> None:
        centers, counts = kmeans(x, self.codebook_size, self.kmeans_iters)
        self.weight.data.copy_(centers)
        if self.update == "ema":
            self.cluster_size.copy_(counts)
            self.embed_avg.copy_(centers * counts[:, None])
        else:
            self.usage.copy_(counts)
        self.inited.fill_(1.0)

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, codes: torch.Tensor, counts: torch.Tensor) -> None:
        """EMA of cluster sizes and code sums (`counts` already summed over ranks), then Laplace smoothing."""
        sums = all_reduce_sum_(torch.zeros_like(self.embed_avg).index_add_(0, codes, x))
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + self.epsilon) / (n + self.codebook_size * self.epsilon) * n
        self.embed.copy_(self.embed_avg / smoothed[:, None])

    @torch.no_grad()
    def _replace_dead(self, x: torch.Tensor) -> None:
        """Codes whose running usage fell below the threshold become random latents of this batch (from
        rank 0 under DDP); their statistics restart at the threshold so the next EMA step keeps them."""
        usage = self._usage()
        dead = usage < self.dead_code_threshold
        n_dead = int(dead.sum())
        if n_dead == 0 or x.shape[0] == 0:
            return
        if rank() == 0:
            pick = torch.randperm(x.shape[0], device=x.device)[:n_dead]
            if pick.numel() < n_dead:
                pick = torch.randint(x.shape[0], (n_dead,), device=x.device)
            new = x[pick].to(self.weight.dtype)
        else:
            new = torch.zeros(n_dead, self.codebook_dim, dtype=self.weight.dtype, device=x.device)
        broadcast_(new)
        self.weight.data[dead] = new
        usage[dead] = self.dead_code_threshold
        if self.update == "ema":
            self.embed_avg[dead] = new * self.dead_code_threshold

    # -- forward ----------------------------------------------------------------------------------
    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        z = self.in_proj(latents)
        zs = z if st_latents is None or st_latents is latents else self.in_proj(st_latents)
        b, _, t = z.shape
        x = flatten_frames(z.detach()).float()
        if self.training and self.kmeans_init and not bool(self.inited.item()):
            self._init_from_kmeans(x)
        codes = nearest(x, self.weight, self.l2_normalize)
        q = self._lookup(codes.view(b, t)).to(z.dtype)

        losses = {"commitment": self.commitment_weight * stop_grad_mse(z, q, mask)}
        if self.update == "grad":
            losses["codebook"] = self.codebook_weight * stop_grad_mse(q, z, mask)
        out = rotation_trick(zs, q) if self.rotation_trick else straight_through(zs, q)
        out = self.out_proj(out)

        frames = frame_mask(mask, t)
        counts = code_counts(codes, self.codebook_size, frames)
        if self.training and float(all_reduce_sum_(counts).sum()) > 0:  # a level dropped everywhere stays as is
            with torch.no_grad():
                if self.update == "ema":
                    active = x if frames is None else x[frames]
                    self._ema_update(active, codes if frames is None else codes[frames], counts)
                else:
                    self.usage.mul_(self.decay).add_(counts, alpha=1 - self.decay)
                if self.dead_code_threshold > 0:
                    self._replace_dead(x)
        stats = usage_stats(counts, self._usage(), self.dead_code_threshold)
        return LevelOutput(out, codes.view(b, t), losses, stats)
