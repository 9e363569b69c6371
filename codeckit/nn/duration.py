"""The duration predictor of de-duplicated units (FastSpeech 2's variance predictor over unit runs).

A speech LM that emits de-duplicated units (SyncLLM, GSLM's "deduped" setting) drops how long each unit lasts;
the vocoder needs frame-rate units back. The predictor reads each run's unit embedding (the unit's k-means
centre, what the vocoder reads too) in the context of its neighbours and predicts log(frames) of the run:

    runs (B, D, N) -> standardise per feature -> [Conv1d k, ReLU, LayerNorm, Dropout] x n_layers -> 1x1 conv
    -> log durations (B, N)

`counts` turns predictions into integer run lengths >= 1 (round(exp)), which `codeckit.tokens.dedup.restore`
repeats. Padded runs of a batch (`mask` False) are zeroed after every layer, so an item's prediction does not
depend on what it is batched with. The feature mean and std are buffers set once from training runs
(`set_normalisation`), saved with the weights.
"""

from __future__ import annotations

import torch
from torch import nn

from codeckit.errors import CodeckitError
from codeckit.nn.checks import check_positive
from codeckit.nn.convnext import ChannelLayerNorm


class DurationError(CodeckitError, ValueError):
    """Runs or a mask whose shape does not fit the predictor (names the expected and the given shape)."""


class DurationPredictor(nn.Module):
    """Unit centres of runs (B, in_dim, N) -> predicted log durations in frames (B, N) (see the module docstring)."""

    def __init__(self, in_dim: int, dim: int = 128, n_layers: int = 2, kernel_size: int = 3, dropout: float = 0.1):
        super().__init__()
        check_positive("duration predictor", in_dim=in_dim, dim=dim, n_layers=n_layers, kernel_size=kernel_size)
        if kernel_size % 2 == 0:
            raise DurationError(f"duration predictor: kernel_size must be odd (centred), got {kernel_size}")
        if not 0 <= dropout < 1:
            raise DurationError(f"duration predictor: dropout must be in [0, 1), got {dropout}")
        self.in_dim = int(in_dim)
        self.register_buffer("mean", torch.zeros(in_dim))
        self.register_buffer("std", torch.ones(in_dim))
        self.convs = nn.ModuleList(
            nn.Conv1d(in_dim if i == 0 else dim, dim, kernel_size, padding=kernel_size // 2) for i in range(n_layers)
        )
        self.norms = nn.ModuleList(ChannelLayerNorm(dim) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Conv1d(dim, 1, 1)

    @torch.no_grad()
    def set_normalisation(self, runs: torch.Tensor) -> None:
        """Set the per-feature mean and std from training runs (M, in_dim) (all runs of a corpus, concatenated)."""
        if runs.dim() != 2 or runs.shape[1] != self.in_dim or runs.shape[0] < 2:
            raise DurationError(f"set_normalisation takes (runs >= 2, {self.in_dim}), got {tuple(runs.shape)}")
        self.mean.copy_(runs.float().mean(0))
        self.std.copy_(runs.float().std(0).clamp_min(1e-5))

    def _check(self, runs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        if runs.dim() != 3 or runs.shape[1] != self.in_dim:
            raise DurationError(f"duration predictor takes runs (batch, {self.in_dim}, runs), got {tuple(runs.shape)}")
        if mask is None:
            return torch.ones(runs.shape[0], runs.shape[2], dtype=torch.bool, device=runs.device)
        if mask.shape != (runs.shape[0], runs.shape[2]) or mask.dtype != torch.bool:
            raise DurationError(
                f"mask must be bool ({runs.shape[0]}, {runs.shape[2]}), got {mask.dtype} {tuple(mask.shape)}"
            )
        return mask

    def forward(self, runs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = self._check(runs, mask)
        keep = mask[:, None, :].to(runs.dtype)
        x = (runs - self.mean[:, None]) / self.std[:, None] * keep
        for conv, norm in zip(self.convs, self.norms):
            x = self.dropout(norm(torch.relu(conv(x)))) * keep
        return self.out(x)[:, 0] * mask.to(runs.dtype)

    @torch.no_grad()
    def counts(
        self, runs: torch.Tensor, mask: torch.Tensor | None = None, max_count: int | None = None
    ) -> torch.Tensor:
        """Integer frames per run (B, N) int64: round(exp(prediction)), at least 1 (0 where `mask` is False)."""
        counts = self.forward(runs, mask).exp().round().clamp_min(1)
        if max_count is not None:
            counts = counts.clamp_max(max_count)
        counts = counts.long()
        return counts if mask is None else counts * mask.long()
