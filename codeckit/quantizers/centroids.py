"""A k-means codebook as a quantizer, registered as `kmeans`: the units of speech LMs (HuBERT / mHuBERT units).

The centres are fit outside the gradient loop (`codeckit units fit`, scikit-learn) and stored as a safetensors
file holding one float32 tensor `centroids` (n_units, dim); here they are a frozen buffer, saved with the model.
Assignment is one matmul: argmin_k ||c_k||^2 - 2 x . c_k (||x||^2 is the same for every k), exactly the distance
scikit-learn's `predict` and fairseq's `ApplyKmeans` minimise, in PyTorch and in the ONNX graph alike.
`decode(codes)` returns the centres (B, dim, T): the latents a unit vocoder reads. `forward` passes the centres
on without gradient (nothing here learns) and reports code usage.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from codeckit.errors import ConfigError
from codeckit.quantizers.common import FrozenCodebook, LevelOutput, code_counts, nearest, usage_stats
from codeckit.quantizers.level import SingleCodebook
from codeckit.registry import QUANTIZERS

CENTROIDS_KEY = "centroids"


def read_centroids(path: str | os.PathLike) -> tuple[torch.Tensor, dict[str, str]]:
    """(centres (n_units, dim) float32, metadata) of a centroids file; ConfigError naming the path otherwise."""
    from codeckit.fileio import read_safetensors

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"kmeans quantizer: centroids file {path} does not exist (fit it with `codeckit units fit`)")
    meta, tensors = read_safetensors(path, "pt", ConfigError, "centroids file")
    centres = tensors.get(CENTROIDS_KEY)
    if centres is None or centres.dim() != 2 or centres.shape[0] < 2 or not centres.is_floating_point():
        found = {k: tuple(v.shape) for k, v in tensors.items()}
        raise ConfigError(f"{path}: expected a float tensor '{CENTROIDS_KEY}' (n_units >= 2, dim), found {found}")
    if not bool(torch.isfinite(centres).all()):
        raise ConfigError(f"{path}: the centroids hold NaN or infinite values")
    return centres.float().contiguous(), meta


def write_centroids(path: str | os.PathLike, centres: torch.Tensor, metadata: dict[str, str] | None = None) -> Path:
    """Write `centres` (n_units, dim) as a centroids file, through a temporary name."""
    from safetensors.torch import save_file

    from codeckit.fileio import atomic_path

    with atomic_path(path) as tmp:
        save_file({CENTROIDS_KEY: centres.detach().float().contiguous().cpu()}, str(tmp), metadata=metadata or {})
    return Path(path)


@QUANTIZERS.register("kmeans")
class KMeansQuantizer(SingleCodebook):
    """Nearest of `n_units` frozen centres of dimension `dim`, loaded from `centroids` (a file) when given.

    Without `centroids` the centres start at zero and come from the model's weights (a saved units model)."""

    def __init__(self, n_units: int | None = None, dim: int | None = None, centroids: str | None = None):
        super().__init__()
        if centroids is not None:
            centres, _ = read_centroids(centroids)
            for key, want, got in (("n_units", n_units, centres.shape[0]), ("dim", dim, centres.shape[1])):
                if want is not None and want != got:
                    raise ConfigError(f"kmeans quantizer: {key} is {want} but {centroids} has {got}")
        elif n_units is None or dim is None or n_units < 2 or dim < 1:
            raise ConfigError(
                f"kmeans quantizer: give centroids (a file) or n_units >= 2 and dim >= 1, got {n_units}, {dim}"
            )
        else:
            centres = torch.zeros(n_units, dim)
        self.dim = int(centres.shape[1])
        self.codebook_sizes = [int(centres.shape[0])]
        self.register_buffer(CENTROIDS_KEY, centres)
        self.register_buffer("usage", torch.zeros(self.codebook_sizes[0]), persistent=False)

    def config_for_saving(self, spec: dict) -> dict:
        """A saved model's quantizer config: the centres are in its weights, so the file path is dropped and the
        model directory loads without the centroids file."""
        spec = {k: v for k, v in spec.items() if k != "centroids"}
        return {**spec, "n_units": self.codebook_sizes[0], "dim": self.dim}

    def encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, dim, T) features -> (B, T) index of the nearest centre."""
        b, _, t = latents.shape
        flat = latents.detach().transpose(1, 2).reshape(-1, self.dim)
        return nearest(flat, self.centroids).reshape(b, t)

    def decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, T) unit ids -> (B, dim, T) centres."""
        return torch.nn.functional.embedding(codes, self.centroids).transpose(1, 2)

    def quantize(
        self, latents: torch.Tensor, st_latents: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> LevelOutput:
        """The centres of the nearest units, no gradient and no loss; usage statistics of this batch."""
        codes = self.encode_level(latents)
        counts = code_counts(codes, self.codebook_size)
        if self.training:
            self.usage.mul_(0.99).add_(counts, alpha=0.01)
        return LevelOutput(self.decode_level(codes), codes, {}, usage_stats(counts, self.usage, 0.0))

    def prepare_export(self) -> None:
        """Freeze the centres' search tables (`FrozenCodebook`) for the traced graphs."""
        self.frozen = FrozenCodebook(self.centroids)

    def export_encode_level(self, latents: torch.Tensor) -> torch.Tensor:
        """`encode_level` as one addmm and an argmin (after `prepare_export`)."""
        return self.frozen.nearest(latents)

    def export_decode_level(self, codes: torch.Tensor) -> torch.Tensor:
        """`decode_level` as a gather (after `prepare_export`)."""
        return self.frozen.lookup(codes)
