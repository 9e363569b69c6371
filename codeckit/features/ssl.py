"""Self-supervised speech models through `transformers`, registered as encoder `ssl`: HuBERT, mHuBERT,
wav2vec 2.0 / XLS-R and WavLM hidden states at a chosen layer, or the mean of several layers.

`model` is `hf:ORG/NAME[@REVISION]` (downloaded once by `codeckit.hub.download_hub_files` with huggingface_hub)
or a local folder with the repository's config.json and weights; the endpoint and the download cache are
huggingface_hub's own (HF_ENDPOINT, HF_HUB_CACHE). Layer k is transformers' `hidden_states[k]`
(`output_hidden_states=True`): 0 is the input of the first transformer layer, k >= 1 the output of layer k, as
fairseq's `extract_features(output_layer=k)`. Layers above the highest one used are dropped, so they cost
nothing and are not saved. `normalize` standardises each utterance first (fairseq's `task.normalize`: XLS-R,
wav2vec 2.0 large). The audio is padded on the right by receptive field - hop samples, so T samples give T / hop
frames and frame t covers samples [t hop, t hop + receptive field), as the unpadded fairseq frames do. The model
stays in eval mode with frozen weights (a frozen tokenizer: no dropout or SpecAugment under `codeckit train`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from codeckit.errors import ConfigError
from codeckit.features.mfcc import check_mono
from codeckit.registry import ENCODERS

MODEL_TYPES = ("hubert", "wav2vec2", "wavlm", "data2vec-audio")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def pick_files(files: list[str]) -> list[str]:
    """config.json and one weights file (safetensors first) of a transformers repository's file list."""
    weights = next((w for w in WEIGHT_FILES if w in files), None)
    if "config.json" not in files or weights is None:
        raise ConfigError(f"ssl encoder: the repository needs config.json and one of {WEIGHT_FILES}, has {files}")
    return ["config.json", weights]


def resolve_model(model: str) -> Path:
    """A local folder holding the transformers model `model` (`hf:` spec downloaded once, or a folder)."""
    from codeckit.hub import download_hub_files, is_hub_spec

    if is_hub_spec(model):
        return download_hub_files(model, pick_files)
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise ConfigError(f"ssl encoder: model '{model}' is neither hf:ORG/NAME nor a folder with config.json")
    return path


def load_pretrained(folder: Path) -> nn.Module:
    """The transformers base model (no task head) saved in `folder`, in eval mode."""
    try:
        from transformers import AutoConfig, AutoModel
    except ImportError:
        raise ConfigError("the ssl encoder needs transformers: pip install 'codeckit[units]'") from None
    config = AutoConfig.from_pretrained(folder)
    if config.model_type not in MODEL_TYPES:
        raise ConfigError(f"ssl encoder: {folder} holds a '{config.model_type}' model, not one of {MODEL_TYPES}")
    use_safetensors = (folder / "model.safetensors").is_file()
    return AutoModel.from_pretrained(folder, use_safetensors=use_safetensors).eval()


def receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """(receptive field, hop) in samples of a stack of 1-D convolutions."""
    field, hop = 1, 1
    for k, s in zip(kernels, strides):
        field += (int(k) - 1) * hop
        hop *= int(s)
    return field, hop


def _keep_input(module: nn.Module, args: tuple, kwargs: dict) -> None:
    """Forward pre-hook: keep the layer's input hidden states on the layer itself (a model copy keeps its own)."""
    module.__dict__["tapped_input"] = args[0] if args else kwargs["hidden_states"]


def _keep_output(module: nn.Module, args: tuple, output: torch.Tensor | tuple) -> None:
    """Forward hook: keep the layer's output hidden states on the layer itself."""
    module.__dict__["tapped_output"] = output[0] if isinstance(output, tuple) else output


@ENCODERS.register("ssl")
class SSLFeatures(nn.Module):
    """Audio (B, 1, T) at 16 kHz -> hidden states (B, hidden_size, T / hop) of `layer` (or the mean of layers)."""

    def __init__(self, model: str, layer: int | list[int] = 6, normalize: bool = False):
        super().__init__()
        self.model = load_pretrained(resolve_model(model))
        layers = [layer] if isinstance(layer, int) else [int(v) for v in layer]
        depth = len(self.model.encoder.layers)
        if not layers or any(not 0 <= v <= depth for v in layers):
            raise ConfigError(f"ssl encoder: layer must be in 0..{depth} for {model}, got {layer!r}")
        self.layers, self.normalize = layers, bool(normalize)
        self.model.encoder.layers = self.model.encoder.layers[: max(1, max(layers))]
        self.model.requires_grad_(False)
        cfg = self.model.config
        field, self.hop_length = receptive_field(cfg.conv_kernel, cfg.conv_stride)
        self.right_pad = field - self.hop_length
        self.dim = int(cfg.hidden_size)
        for k in set(layers):
            if k == 0:
                self.model.encoder.layers[0].register_forward_pre_hook(_keep_input, with_kwargs=True)
            else:
                self.model.encoder.layers[k - 1].register_forward_hook(_keep_output)

    def train(self, mode: bool = True) -> SSLFeatures:
        """Whatever `mode`, the pretrained model stays in eval mode (no dropout, no SpecAugment masks)."""
        super().train(mode)
        self.model.eval()
        return self

    def _take(self, k: int) -> torch.Tensor:
        """Hidden states k that the hooks kept during the last forward, removed from the layer."""
        layers = self.model.encoder.layers
        return layers[0].__dict__.pop("tapped_input") if k == 0 else layers[k - 1].__dict__.pop("tapped_output")

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        check_mono(audio, "ssl")
        x = audio[:, 0]
        if self.normalize:
            x = F.layer_norm(x, x.shape[-1:])
        self.model(F.pad(x, (0, self.right_pad)))
        tapped = {k: self._take(k) for k in set(self.layers)}
        states = [tapped[k] for k in self.layers]
        feats = states[0] if len(states) == 1 else torch.stack(states).mean(0)
        return feats.transpose(1, 2)
