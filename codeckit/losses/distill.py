"""Semantic distillation (SpeechTokenizer, Zhang et al. 2024): the first quantizer level learns a teacher's features.

A 1x1 projection maps level 1's quantized latents (straight-through, so the gradient reaches the encoder)
to the teacher's feature size; the loss is -log sigmoid(cosine) between the projection and the frozen
teacher's features, as SpeechTokenizer's `d_axis_distill_loss` (speechtokenizer/trainer/loss.py):
- axis "d" (theirs, the default): for each feature dimension, the cosine of its time series, averaged over
  dimensions and items;
- axis "t": for each frame, the cosine of the feature vectors, averaged over frames and items.
Frames are aligned by bringing the teacher's frames to the codec's latent frames: average pooling over the
teacher frames each latent frame covers (`adaptive_avg_pool1d`) when the teacher's rate is higher, linear
interpolation when it is lower.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError

Axis = Literal["d", "t"]


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, axis: Axis = "d") -> torch.Tensor:
    """-log sigmoid(cosine) of `student` and `teacher` (both (B, D, T)): over time per dimension ("d"), or over
    dimensions per frame ("t"), averaged."""
    if student.shape != teacher.shape:
        raise ValueError(f"distillation: student {tuple(student.shape)} and teacher {tuple(teacher.shape)} differ")
    cos = F.cosine_similarity(student, teacher, dim=-1 if axis == "d" else 1)
    return -F.logsigmoid(cos).mean()


def align_frames(features: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, D, T) features brought to `frames` frames: average pooling when T > frames, linear interpolation when
    T < frames."""
    if features.shape[-1] == frames:
        return features
    if features.shape[-1] > frames:
        return F.adaptive_avg_pool1d(features, frames)
    return F.interpolate(features, size=frames, mode="linear", align_corners=False)


class SemanticDistillation(nn.Module):
    """The distillation term: a frozen `teacher` encoder (audio -> (B, teacher_dim, T')) and a trained projection
    from the codec's `latent_dim` to `teacher_dim`.

    `attach(codec)` hooks the codec's quantizer, so each training forward pass leaves level 1's straight-through
    quantized latents here for `loss(audio)`; nothing in the codec changes.
    """

    def __init__(
        self, teacher: nn.Module, latent_dim: int, sample_rate: int, teacher_sample_rate: int | None, axis: Axis = "d"
    ):
        super().__init__()
        if axis not in ("d", "t"):
            raise ConfigError(f"losses.distill.axis must be 'd' or 't', got {axis!r}")
        dim = getattr(teacher, "dim", None)
        if not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"losses.distill.teacher: encoder '{type(teacher).__name__}' declares no feature `dim`")
        self.teacher = teacher.eval().requires_grad_(False)
        self.projection = nn.Conv1d(latent_dim, dim, 1)
        self.project_train: nn.Module = self.projection  # under DDP, the wrapper that averages its gradients
        self.sample_rate = int(sample_rate)
        self.teacher_sample_rate = int(teacher_sample_rate or sample_rate)
        self.axis = axis
        self._level1: torch.Tensor | None = None

    def train(self, mode: bool = True) -> SemanticDistillation:
        """Train the projection; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def distribute(self, device_ids: list[int] | None) -> None:
        """Run the projection under DDP, so its gradients are averaged over the ranks as the codec's are."""
        from torch.nn.parallel import DistributedDataParallel as DDP

        self.project_train = DDP(self.projection, device_ids=device_ids)

    def attach(self, codec: nn.Module) -> None:
        """Capture level 1 of every forward pass of `codec.quantizer` (a hook; the codec is not modified)."""
        quantizer = codec.quantizer

        def keep(_module, args, output) -> None:
            latents = args[0]
            level1 = quantizer.decode([output.codes[0]]).to(latents.dtype)
            self._level1 = latents + (level1 - latents).detach()  # level 1's values, the encoder's gradient

        codec.quantizer.register_forward_hook(keep)

    @torch.no_grad()
    def targets(self, audio: torch.Tensor, frames: int) -> torch.Tensor:
        """The teacher's features of mono `audio` (B, 1, T), aligned to `frames` frames."""
        x = audio.float().mean(dim=1, keepdim=True)
        if self.teacher_sample_rate != self.sample_rate:
            from codeckit.audio import resample

            x = resample(x[:, 0], self.sample_rate, self.teacher_sample_rate)[:, None].to(audio.device)
        return align_frames(self.teacher(x).float(), frames)

    def student(self, level1: torch.Tensor) -> torch.Tensor:
        """Level 1's latents (B, latent_dim, T) projected to the teacher's size."""
        return self.project_train(level1.float())

    def forward(self, audio: torch.Tensor, level1: torch.Tensor | None = None) -> torch.Tensor:
        """The loss of `level1` (default: what the last forward pass of the attached quantizer left) on `audio`."""
        if level1 is None:
            level1, self._level1 = self._level1, None  # used once: the next forward pass leaves the next one
        if level1 is None:
            raise RuntimeError("distillation: no level-1 latents; attach() it to the codec and run the codec first")
        student = self.student(level1)
        return distill_loss(student, self.targets(audio, student.shape[-1]), self.axis)
