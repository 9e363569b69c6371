"""Token files: one item's codes as safetensors, with a JSON header naming the codec that made them.

Layout: tensors `codes.0` .. `codes.{n-1}` (one 1-D tensor per active level, coarse to fine, stored in the
smallest integer type that holds the codebook) and metadata `format`, `version`, `header` (JSON of
`TokenHeader`). Loading checks the header, frame counts and code ranges, naming the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file

from codeckit.codec_spec import CodecSpec
from codeckit.errors import ConfigError
from codeckit.fileio import atomic_path, read_safetensors
from codeckit.tokens.check import check_range
from codeckit.tokens.errors import TokenError

FORMAT = "codeckit.tokens"
VERSION = 1
TOKEN_SUFFIX = ".tokens.safetensors"


@dataclass(frozen=True)
class TokenHeader:
    """What a token file says about the codes it holds and the codec that made them."""

    codec_id: str  # codeckit.tokens.identity.codec_identity of the codec
    sample_rate: int  # the codec's rate; `length` counts samples at this rate
    channels: int
    levels: int  # the codec's levels (all of them)
    hop_lengths: list[int]  # per level, samples per code
    frame_rates: list[float]  # per level, codes per second
    codebook_sizes: list[int]  # per level
    n_quantizers: int  # active levels stored in the file (the first n)
    length: int  # original length in samples at `sample_rate`
    source: str | None = None  # where the audio came from (a path or an utterance id)
    source_sample_rate: int | None = None

    @classmethod
    def from_spec(
        cls,
        spec: CodecSpec,
        codec_id: str,
        n_quantizers: int,
        length: int,
        source: str | None = None,
        source_sample_rate: int | None = None,
    ) -> TokenHeader:
        """The header for codes that the codec declared by `spec` (identity `codec_id`) made from `length` samples."""
        return cls(
            codec_id=codec_id,
            sample_rate=spec.sample_rate,
            channels=spec.channels,
            levels=spec.n_levels,
            hop_lengths=list(spec.hop_lengths),
            frame_rates=spec.frame_rates,
            codebook_sizes=list(spec.codebook_sizes),
            n_quantizers=int(n_quantizers),
            length=int(length),
            source=source,
            source_sample_rate=source_sample_rate,
        )

    @property
    def spec(self) -> CodecSpec:
        """The declaration this header stores (it has no pad multiple: the hops' least common multiple stands in)."""
        return CodecSpec.of_codes(self.sample_rate, self.channels, tuple(self.hop_lengths), tuple(self.codebook_sizes))

    def check(self, codes: Sequence[torch.Tensor], where: str) -> None:
        """Raise TokenError if `codes` (1-D per active level) do not fit this header."""
        n, lv = self.n_quantizers, self.levels
        if not (len(self.hop_lengths) == len(self.frame_rates) == len(self.codebook_sizes) == lv):
            raise TokenError(f"{where}: header lists per-level values for other than {lv} levels")
        if any(h < 1 for h in self.hop_lengths) or any(s < 1 for s in self.codebook_sizes):
            raise TokenError(
                f"{where}: header hop lengths {self.hop_lengths} and codebook sizes {self.codebook_sizes} "
                "must be positive"
            )
        if self.length < 1 or self.sample_rate < 1:
            raise TokenError(f"{where}: length {self.length} and sample rate {self.sample_rate} must be positive")
        try:
            spec = self.spec
        except ValueError as e:
            raise TokenError(f"{where}: header: {e}") from None
        spec.check_n_quantizers(n, TokenError, where=f"{where}: ")
        if len(codes) != n:
            raise TokenError(f"{where}: header says {n} active levels, the file holds {len(codes)}")
        for level, (c, hop) in enumerate(zip(codes, self.hop_lengths)):
            need = math.ceil(self.length / hop)
            if c.dim() != 1 or c.shape[0] < need:
                raise TokenError(
                    f"{where}: level {level} has shape {tuple(c.shape)}; {self.length} samples need at least "
                    f"{need} frames at hop {hop}"
                )
        covered = {c.shape[0] * hop for c, hop in zip(codes, self.hop_lengths)}
        if len(covered) != 1:
            raise TokenError(f"{where}: levels cover different spans: {sorted(covered)} samples")
        check_range(codes, self.codebook_sizes[:n], what=where)


@dataclass
class TokenFile:
    """A loaded token file: codes per active level (1-D int64, coarse to fine) and the header."""

    codes: list[torch.Tensor]
    header: TokenHeader


def save_tokens(path: str | os.PathLike, codes: Sequence[torch.Tensor], header: TokenHeader) -> Path:
    """Write one item's codes (1-D per active level) with `header`, atomically; checks them first."""
    p = Path(path)
    codes = [torch.as_tensor(c).detach().cpu().long() for c in codes]
    header.check(codes, where=str(p))
    dtype = _storage_dtype(max(header.codebook_sizes))
    tensors = {f"codes.{i}": c.to(dtype).contiguous() for i, c in enumerate(codes)}
    meta = {"format": FORMAT, "version": str(VERSION), "header": json.dumps(dataclasses.asdict(header))}
    with atomic_path(p) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return p


def load_tokens(path: str | os.PathLike) -> TokenFile:
    """Read and check a token file written by `save_tokens`."""
    from codeckit.config import from_dict

    p = Path(path)
    if not p.is_file():
        raise TokenError(f"token file not found: {p}")
    meta, tensors = read_safetensors(p, "pt", TokenError, "token file")
    if meta.get("format") != FORMAT:
        raise TokenError(f"{p}: not a codeckit token file (format {meta.get('format')!r})")
    if meta.get("version") != str(VERSION):
        raise TokenError(f"{p}: token file version {meta.get('version')} is not supported (expected {VERSION})")
    try:
        header = from_dict(TokenHeader, json.loads(meta.get("header", "")), source=str(p), prefix="header.")
    except (json.JSONDecodeError, ConfigError) as e:
        raise TokenError(f"{p}: bad header ({e})") from None
    names = [f"codes.{i}" for i in range(len(tensors))]
    if sorted(tensors) != sorted(names):
        raise TokenError(f"{p}: expected tensors {names}, found {sorted(tensors)}")
    for n in names:
        dtype = tensors[n].dtype
        if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
            raise TokenError(f"{p}: tensor '{n}' has dtype {str(dtype).replace('torch.', '')}; codes must be integers")
    codes = [tensors[n].long() for n in names]
    header.check(codes, where=str(p))
    return TokenFile(codes, header)


def _storage_dtype(max_size: int) -> torch.dtype:
    if max_size <= 2**15:
        return torch.int16
    return torch.int32 if max_size <= 2**31 else torch.int64
