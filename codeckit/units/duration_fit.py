"""De-duplicated units and their durations: fit the duration predictor of a units codec, store it beside the codec,
and decode de-duplicated units through it (the path a SyncLLM / GSLM-style LM's output takes).

A units codec is a `Codec` with one code level (k-means units) whose decoder is the unit vocoder. Its training
units, de-duplicated (`codeckit.tokens.dedup`), give runs (unit, frames); the predictor
(`codeckit.nn.duration.DurationPredictor`) learns log(frames) of each run from the units' centres with MSE.
It is independent of the vocoder's weights, so it can be fit before, after or beside `codeckit train`.

Files in the model directory: `duration.yaml` (the predictor's options and the fit's summary) and
`duration.safetensors` (weights and input normalisation), both written through temporary names.

    python -m codeckit.units.duration_fit MODEL_DIR WAV_SCP [--steps 500 --max-files 400]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from codeckit.audio import read_audio
from codeckit.codecs.base import Codec
from codeckit.fileio import atomic_path, write_text_atomic
from codeckit.nn.duration import DurationPredictor
from codeckit.tokens.dedup import Runs, dedup, restore
from codeckit.train.data import read_wav_scp
from codeckit.units.errors import UnitsError

log = logging.getLogger("codeckit.units")
DURATION_CONFIG = "duration.yaml"
DURATION_WEIGHTS = "duration.safetensors"


class DurationFitError(UnitsError):
    """A codec that is not a one-level units codec, unusable data, or a model directory without a predictor."""


@dataclass
class DurationFitConfig:
    """The predictor's size and its fit: MSE on log(frames), AdamW, `steps` batches of `batch_size` utterances.

    The defaults cost ~1 CPU minute on the synthetic corpus's MFCC-100 units (400 files, ~47k runs; held out:
    65% of runs exact, 0.57 frames mean absolute error)."""

    dim: int = 128
    n_layers: int = 2
    kernel_size: int = 3
    dropout: float = 0.1
    steps: int = 500
    batch_size: int = 32
    lr: float = 2e-3
    max_files: int = 400
    held_out: float = 0.1  # fraction of the files kept out of the fit to report its error
    seed: int = 0


def check_units_codec(codec: Codec) -> None:
    """Raise DurationFitError unless `codec` has exactly one code level (the units)."""
    if codec.n_levels != 1:
        raise DurationFitError(f"de-duplicated units need a one-level units codec, this one has {codec.n_levels}")


def codec_device(codec: Codec) -> torch.device:
    """Where the codec's tensors are (its first parameter or buffer; CPU for a codec with neither)."""
    for t in (*codec.parameters(), *codec.buffers()):
        return t.device
    return torch.device("cpu")


@torch.no_grad()
def unit_runs(codec: Codec, audio: torch.Tensor) -> Runs:
    """Audio (C, T) at the codec's rate -> its de-duplicated units: values (N,) and frames per run (N,)."""
    check_units_codec(codec)
    codes = codec.encode(audio[None].to(codec_device(codec)))
    return dedup(codes[0][0])


@torch.no_grad()
def decode_runs(
    codec: Codec,
    values: torch.Tensor,
    counts: torch.Tensor | None = None,
    predictor: DurationPredictor | None = None,
    speaker: torch.Tensor | None = None,
    max_count: int = 50,
) -> torch.Tensor:
    """De-duplicated units (N,) -> audio (C, frames * hop): each run lasts `counts` frames when given, else what
    `predictor` says (at most `max_count`); `speaker` (ids (1,) or a vector (1, dim)) goes to the unit vocoder."""
    check_units_codec(codec)
    if values.dim() != 1 or values.numel() == 0:
        raise DurationFitError(f"decode_runs takes a non-empty (runs,) tensor of units, got {tuple(values.shape)}")
    values = values.long().to(codec_device(codec))
    if counts is None:
        if predictor is None:
            raise DurationFitError("decode_runs needs either the runs' counts or a duration predictor")
        counts = predictor.counts(run_centres(codec, values), max_count=max_count)[0]
    frames = restore(Runs(values, counts.long().to(values.device)))
    latents = codec.quantizer.decode([frames[None]])
    audio = codec.decoder(latents) if speaker is None else codec.decoder(latents, speaker=speaker)
    return audio[0]


@torch.no_grad()
def run_centres(codec: Codec, values: torch.Tensor) -> torch.Tensor:
    """Units (N,) -> their centres (1, D, N): what both the predictor and the vocoder read."""
    return codec.quantizer.decode([values[None].long()])


def collect_runs(codec: Codec, wav_scp: str | os.PathLike, max_files: int) -> list[Runs]:
    """The de-duplicated units of the first `max_files` files of a Kaldi `wav.scp` (resampled to the codec)."""
    runs = []
    for _, path in read_wav_scp(wav_scp)[:max_files]:
        audio, _ = read_audio(path, codec.sample_rate, channels="mono")
        runs.append(unit_runs(codec, audio.repeat(codec.channels, 1)))
    return runs


Example = tuple[torch.Tensor, torch.Tensor]  # one utterance: run centres (D, N) and log frames (N,)


def _examples(codec: Codec, runs: Sequence[Runs]) -> list[Example]:
    """Each utterance's run centres and log frames, looked up once."""
    return [(run_centres(codec, r.values)[0], r.counts.float().log().to(r.values.device)) for r in runs]


def _collate(examples: Sequence[Example], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Utterances -> centres (B, D, N), log frames (B, N) and the mask of real runs (B, N), zero-padded."""
    n = max(target.shape[0] for _, target in examples)
    mask = torch.zeros(len(examples), n, dtype=torch.bool)
    for i, (_, target) in enumerate(examples):
        mask[i, : target.shape[0]] = True
    centres = torch.stack([torch.nn.functional.pad(c, (0, n - c.shape[1])) for c, _ in examples])
    targets = torch.stack([torch.nn.functional.pad(t, (0, n - t.shape[0])) for _, t in examples])
    return centres.to(device), targets.to(device), mask.to(device)


def _masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((pred - target) ** 2 * mask).sum() / mask.sum().clamp_min(1)


@torch.no_grad()
def _errors(predictor: DurationPredictor, examples: Sequence[Example], batch_size: int = 32) -> dict[str, float]:
    predictor.eval()
    sq = ae = exact = total = 0.0
    device = next(predictor.parameters()).device
    for i in range(0, len(examples), batch_size):
        centres, target, mask = _collate(examples[i : i + batch_size], device)
        pred = predictor(centres, mask)
        counts = predictor.counts(centres, mask).float()
        frames = target.exp().round()
        sq += float(((pred - target) ** 2 * mask).sum())
        ae += float(((counts - frames).abs() * mask).sum())
        exact += float(((counts == frames) & mask).sum())
        total += float(mask.sum())
    total = max(total, 1.0)
    return {"log_mse": sq / total, "frames_mae": ae / total, "exact": exact / total, "runs": int(total)}


def duration_errors(codec: Codec, predictor: DurationPredictor, runs: Sequence[Runs]) -> dict[str, float]:
    """Over `runs`: the MSE of log frames, the mean absolute error in frames, and the share of exact counts."""
    return _errors(predictor, _examples(codec, runs))


def fit_duration_predictor(
    codec: Codec, runs: Sequence[Runs], config: DurationFitConfig | None = None
) -> tuple[DurationPredictor, dict[str, Any]]:
    """Fit a predictor on `runs` of `codec`'s units; returns it (eval mode) and a summary with held-out errors."""
    config = config or DurationFitConfig()
    check_units_codec(codec)
    examples = _examples(codec, [r for r in runs if len(r.values)])
    if len(examples) < 2:
        raise DurationFitError(f"fitting durations needs at least 2 non-empty utterances, got {len(examples)}")
    rng = random.Random(config.seed)
    n_held = min(len(examples) - 1, max(1, round(config.held_out * len(examples)))) if config.held_out > 0 else 0
    held, train = examples[len(examples) - n_held :], examples[: len(examples) - n_held]
    torch.manual_seed(config.seed)
    device = codec_device(codec)
    predictor = DurationPredictor(
        codec.quantizer.dim, config.dim, config.n_layers, config.kernel_size, config.dropout
    ).to(device)
    predictor.set_normalisation(torch.cat([c.T for c, _ in train]))
    opt = torch.optim.AdamW(predictor.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / config.steps)))
    predictor.train()
    for _ in range(config.steps):
        centres, target, mask = _collate(rng.sample(train, min(config.batch_size, len(train))), device)
        loss = _masked_mse(predictor(centres, mask), target, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    predictor.eval()
    summary: dict[str, Any] = {"train_utterances": len(train), "held_out_utterances": len(held)}
    summary["train"] = _errors(predictor, train)
    if held:
        summary["held_out"] = _errors(predictor, held)
    return predictor, summary


def save_duration_predictor(
    model_dir: str | os.PathLike, predictor: DurationPredictor, config: DurationFitConfig, summary: dict[str, Any]
) -> Path:
    """Write `duration.yaml` and `duration.safetensors` into the model directory; returns the weights' path."""
    from safetensors.torch import save_file

    p = Path(model_dir)
    if not p.is_dir():
        raise DurationFitError(f"model directory not found: {p}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in predictor.state_dict().items()}
    with atomic_path(p / DURATION_WEIGHTS) as tmp:
        save_file(tensors, str(tmp))
    options = {k: getattr(config, k) for k in ("dim", "n_layers", "kernel_size", "dropout")}
    doc = {"predictor": {"in_dim": predictor.in_dim, **options}, "fit": asdict(config), "summary": summary}
    write_text_atomic(p / DURATION_CONFIG, yaml.safe_dump(doc, sort_keys=False))
    return p / DURATION_WEIGHTS


def load_duration_predictor(model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> DurationPredictor:
    """The predictor stored in a model directory (eval mode); DurationFitError naming the missing file."""
    from codeckit.modeldir import load_state_checked, read_mapping
    from codeckit.registry import check_kwargs

    p = Path(model_dir)
    for name in (DURATION_CONFIG, DURATION_WEIGHTS):
        if not (p / name).is_file():
            raise DurationFitError(
                f"{p} has no {name}: fit the duration predictor with `python -m codeckit.units.duration_fit {p} "
                "WAV_SCP`"
            )
    doc = read_mapping(p / DURATION_CONFIG, yaml.safe_load, (yaml.YAMLError,), "invalid YAML", "expected a mapping")
    options = doc.get("predictor")
    if not isinstance(options, dict):
        raise DurationFitError(f"{p / DURATION_CONFIG}: no 'predictor' mapping")
    check_kwargs(DurationPredictor, options, str(p / DURATION_CONFIG))
    predictor = DurationPredictor(**options)
    from safetensors.torch import load_file

    load_state_checked(predictor, load_file(str(p / DURATION_WEIGHTS)), str(p / DURATION_WEIGHTS))
    return predictor.to(device).eval()


def fit_model_dir(
    model_dir: str | os.PathLike, wav_scp: str | os.PathLike, config: DurationFitConfig | None = None
) -> tuple[Path, dict[str, Any]]:
    """Fit the duration predictor of the units codec in `model_dir` on the files of `wav_scp` and store it there;
    returns the weights' path and the fit's summary (what `codeckit units durations` runs)."""
    from codeckit.codecs import load_codec

    config = config or DurationFitConfig()
    codec = load_codec(model_dir)
    runs = collect_runs(codec, wav_scp, config.max_files)
    predictor, summary = fit_duration_predictor(codec, runs, config)
    path = save_duration_predictor(model_dir, predictor, config, summary)
    log.info("duration predictor written to %s: %s", path, summary)
    return path, summary


class DedupUnits:
    """A units model directory as a tokenizer of de-duplicated units (the API of path b): `tokenize` gives each
    item's runs (units and frames), `detokenize` vocodes units with given or predicted durations."""

    def __init__(self, model_dir: str | os.PathLike, device: str | torch.device = "cpu"):
        import codeckit

        self.model = codeckit.load(model_dir, device=device)
        check_units_codec(self.model.codec)
        self.predictor = load_duration_predictor(model_dir, device)

    def tokenize(self, audio: Any, sr: int | None = None) -> list[Runs]:
        """Audio (anything `codeckit.load(...).tokenize` takes) -> one `Runs` (units, frames) per item."""
        tokens = self.model.tokenize(audio, sr=sr)
        return [dedup(tokens[i][0]) for i in range(len(tokens))]

    def detokenize(
        self,
        units: torch.Tensor | Sequence[torch.Tensor],
        counts: Sequence[torch.Tensor] | None = None,
        speaker: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """De-duplicated units, one (runs,) tensor per item -> one (channels, samples) CPU tensor per item; each
        run lasts its `counts` frames when given, else the predicted ones (`speaker`: as `decode_runs`)."""
        items = [units] if isinstance(units, torch.Tensor) else list(units)
        if counts is not None and len(counts) != len(items):
            raise DurationFitError(f"{len(items)} unit sequences but {len(counts)} count sequences")
        out = []
        for i, values in enumerate(items):
            c = None if counts is None else counts[i]
            audio = decode_runs(self.model.codec, values, c, self.predictor, speaker)
            out.append(audio.float().cpu())
        return out


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the duration predictor of MODEL_DIR's units codec on WAV_SCP and store it in MODEL_DIR."""
    p = argparse.ArgumentParser(prog="python -m codeckit.units.duration_fit", description=main.__doc__)
    p.add_argument("model_dir")
    p.add_argument("wav_scp")
    defaults = DurationFitConfig()
    for key, value in asdict(defaults).items():
        p.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fit_model_dir(args.model_dir, args.wav_scp, DurationFitConfig(**{k: getattr(args, k) for k in asdict(defaults)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
