"""The leaderboard's de-duplicated units codec, SPEC `dedup:MODEL_DIR`: a units model scored on the path a
SyncLLM / GSLM-style LM's output takes.

Per file: tokenize to frame-rate units, de-duplicate (`codeckit.tokens.dedup`), drop the run lengths, predict
them again with the model directory's duration predictor (`codeckit.units.duration_fit`), repeat the units by the
predicted lengths and vocode. Bits: log2(codebook size) per de-duplicated unit, nothing for the durations (they
are predicted, not sent); the bitrate reported is those bits over the file's duration. The plain model directory
as SPEC scores the same model on frame-rate units (path a).

The decoded audio lasts as long as the predicted durations say, so it is cut or padded to the input's length and
is not time-aligned with it: word error rate is the measure this path is for; PESQ / STOI / ViSQOL of it score
a re-timed signal.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path

import numpy as np
import torch

from codeckit.bench.codecs import CodecRun
from codeckit.bench.specs import CodecEntry, SpecError

KIND = "units_dedup"
PREFIX = "dedup"


def parse_dedup_spec(text: str, name: str | None, model_dir: str) -> CodecEntry:
    """The CodecEntry of `[NAME=]dedup:MODEL_DIR`; SpecError unless the codec and its duration predictor load."""
    from codeckit.errors import CodeckitError
    from codeckit.units.duration_fit import DURATION_CONFIG, DURATION_WEIGHTS

    path = Path(model_dir)
    if not path.is_dir():
        raise SpecError(f"codec spec '{text}': {model_dir} is not a model directory")
    h = hashlib.sha256()
    for f in ("config.yaml", "model.safetensors", DURATION_CONFIG, DURATION_WEIGHTS):
        if not (path / f).is_file():
            raise SpecError(f"codec spec '{text}': {path} has no {f}")
        h.update((path / f).read_bytes())
    try:
        DedupUnitsCodec(str(path))
    except CodeckitError as e:
        raise SpecError(f"codec spec '{text}': {e}") from None
    resolved = path.resolve()
    default = (resolved.parent.name if resolved.name == "model" else resolved.name) + "-dedup"
    return CodecEntry(name or default, KIND, str(path), f"{PREFIX}:{h.hexdigest()}")


class DedupUnitsCodec:
    """A units model directory with its duration predictor, loaded once per process (see the module docstring)."""

    def __init__(self, model_dir: str):
        from codeckit.codecs import load_codec
        from codeckit.units.duration_fit import check_units_codec, load_duration_predictor

        self.codec = load_codec(model_dir)
        check_units_codec(self.codec)
        self.predictor = load_duration_predictor(model_dir)
        self.spec = self.codec.spec
        self.sample_rate = self.spec.sample_rate
        self.delay_s = 0.0  # re-timed output: no delay to declare or estimate
        self.bits_per_unit = math.log2(self.spec.codebook_sizes[0])

    def run(self, audio: torch.Tensor) -> CodecRun:
        """Mono `(1, T)` at `sample_rate`: units, de-duplicated, durations predicted, vocoded."""
        from codeckit.units.duration_fit import decode_runs, unit_runs

        x = audio.repeat(self.spec.channels, 1)
        with torch.inference_mode():
            t0 = time.perf_counter()
            runs = unit_runs(self.codec, x)
            t1 = time.perf_counter()
            y = decode_runs(self.codec, runs.values, predictor=self.predictor)
            t2 = time.perf_counter()
        bits = self.bits_per_unit * len(runs.values)
        seconds = x.shape[-1] / self.sample_rate
        tokens = [runs.values.cpu().numpy().astype(np.int64)]
        return CodecRun(y.mean(0, keepdim=True).float().cpu(), bits, bits / seconds, t1 - t0, t2 - t1, tokens)
