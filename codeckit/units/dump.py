"""Dump a corpus's features in shards, as fairseq's `dump_*_feature.py` does, so k-means fits corpora larger
than memory: each shard is a safetensors file with one float32 tensor `feats` (frames, dim) and, in its metadata,
the utterances it holds and their frame counts (JSON). `shards.json` lists the finished shards; it is written last,
so a dump that stopped midway is redone, and one that finished is reused as it is.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from codeckit.audio import read_audio
from codeckit.fileio import atomic_path, read_safetensors, write_text_atomic
from codeckit.registry import ENCODERS
from codeckit.train.data import read_wav_scp
from codeckit.units.errors import UnitsError

log = logging.getLogger("codeckit.units")
MANIFEST = "shards.json"
FEATS_KEY = "feats"


@torch.no_grad()
def extract(encoder: nn.Module, audio: torch.Tensor) -> torch.Tensor:
    """Features (frames, dim) of mono audio (samples,), padded to the encoder's hop as a codec pads."""
    hop = int(encoder.hop_length)
    x = audio.reshape(1, 1, -1)
    x = torch.nn.functional.pad(x, (0, (-x.shape[-1]) % hop))
    return encoder(x)[0].transpose(0, 1).float().contiguous()


def _batches(
    encoder: nn.Module, entries: list[tuple[str, str]], sample_rate: int
) -> Iterator[tuple[str, torch.Tensor]]:
    for utt, path in tqdm(entries, desc="features", unit="utt", mininterval=5):
        audio, _ = read_audio(path, sample_rate)
        yield utt, extract(encoder, audio[0])


def _write_shard(path: Path, rows: list[torch.Tensor], utts: list[tuple[str, int]]) -> Path:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({FEATS_KEY: torch.cat(rows)}, str(tmp), metadata={"utts": json.dumps(utts)})
    return path


def dump_features(
    scp: str | os.PathLike,
    encoder_config: dict[str, Any],
    sample_rate: int,
    out_dir: str | os.PathLike,
    shard_frames: int = 200_000,
    percent: float = 1.0,
    seed: int = 0,
) -> list[Path]:
    """Features of `percent` of the utterances of `scp` (a random subset, `seed`) in shards of about
    `shard_frames` frames under `out_dir`; returns the shard paths (reused when `out_dir` is complete)."""
    out = Path(out_dir)
    manifest = {"scp": str(Path(scp).resolve()), "encoder": encoder_config, "sample_rate": sample_rate,
                "percent": percent, "seed": seed}  # fmt: skip
    done = _finished(out, manifest)
    if done is not None:
        return done
    if not 0.0 < percent <= 1.0 or shard_frames < 1:
        raise UnitsError(f"percent must be in (0, 1] and shard_frames >= 1, got {percent}, {shard_frames}")
    entries = read_wav_scp(scp)
    if percent < 1.0:
        entries = sorted(random.Random(seed).sample(entries, max(1, round(len(entries) * percent))))
    encoder = ENCODERS.build(encoder_config, source="units: features").eval()
    shards, rows, utts, frames = [], [], [], 0
    for utt, feats in _batches(encoder, entries, sample_rate):
        rows.append(feats)
        utts.append((utt, feats.shape[0]))
        frames += feats.shape[0]
        if frames >= shard_frames:
            shards.append(_write_shard(out / f"feats.{len(shards):05d}.safetensors", rows, utts))
            rows, utts, frames = [], [], 0
    if rows:
        shards.append(_write_shard(out / f"feats.{len(shards):05d}.safetensors", rows, utts))
    manifest["shards"] = [p.name for p in shards]
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    log.info("dumped %d utterances into %d shards under %s", len(entries), len(shards), out)
    return shards


def _finished(out: Path, manifest: dict[str, Any]) -> list[Path] | None:
    """The shards of a complete earlier dump with the same inputs, else None."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    old = json.loads(path.read_text())
    if any(old.get(k) != v for k, v in manifest.items()):
        return None
    shards = [out / name for name in old.get("shards", [])]
    return shards if shards and all(p.is_file() for p in shards) else None


def read_shard(path: str | os.PathLike) -> np.ndarray:
    """The (frames, dim) float32 features of one shard."""
    _, tensors = read_safetensors(Path(path), "numpy", UnitsError, "feature shard")
    feats = tensors.get(FEATS_KEY)
    if feats is None or feats.ndim != 2:
        raise UnitsError(f"{path}: a feature shard holds one 2-D tensor '{FEATS_KEY}', found {sorted(tensors)}")
    return feats
