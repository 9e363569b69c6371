"""Reduced-precision variants of an fp32 export: fp16 weights and activations, or int8 (onnxruntime quantization).

`convert_precision(src_dir, out_dir, "fp16" | "int8", quantization=...)` rewrites every graph of `src_dir`
into `out_dir` with the same inputs, outputs and codeckit metadata (plus `precision` and `quantization`):
- fp16: `onnxruntime.transformers.float16`, inputs and outputs kept float32 (audio, states), so the runner
  and the streams run it unchanged.
- int8 "dynamic": `quantize_dynamic`, int8 weights, activations quantized per call (MatMul only by default:
  onnxruntime's integer convolution is slower than its float one on these graphs).
- int8 "static": `quantize_static` in QDQ format, activation ranges calibrated on `calibration` audio (the
  decoder on the codes the fp32 encoder gives that audio). Step graphs take states no calibration run
  provides, so they get dynamic quantization.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.fileio import atomic_path

log = logging.getLogger(__name__)
PRECISIONS = ("fp32", "fp16", "int8")
QUANTIZATIONS = ("dynamic", "static")
DYNAMIC_OPS = ("MatMul", "Gemm")
STATIC_OPS = ("Conv", "MatMul", "Gemm")


def _graphs(src: Path) -> list[str]:
    names = [g for g in md.GRAPHS if (src / md.FILES[g]).is_file()]
    if not names:
        raise ExportError(f"{src}: no exported graphs ({', '.join(md.FILES.values())}); run 'codeckit export' first")
    return names


def _meta(model: Any, path: Path) -> dict[str, Any]:
    props = {p.key: p.value for p in model.metadata_props}
    if md.KEY not in props:
        raise ExportError(f"{path}: no '{md.KEY}' metadata; export it with 'codeckit export'")
    return md.loads(props[md.KEY], str(path))


def _set_meta(path: Path, meta: dict[str, Any]) -> None:
    """Rewrite the codeckit metadata of the graph at `path` (quantization drops or keeps it; set it either way)."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {md.KEY: md.dumps(meta)})
    onnx.save(model, str(path))


class _Feeds:
    """A `CalibrationDataReader`: one feed dict per calibration item, then None."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._it: Iterator[dict[str, np.ndarray]] = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def _calibration_feeds(src: Path, audio: Sequence[np.ndarray]) -> dict[str, list[dict[str, np.ndarray]]]:
    """Feeds of the offline encoder (audio) and decoder (the fp32 encoder's codes of that audio)."""
    from codeckit.export.runner import OnnxCodec

    codec = OnnxCodec(src)
    enc, dec = [], []
    for a in audio:
        x = codec.as_audio(a)
        if x.shape[-1] < codec.min_samples:
            raise ExportError(f"calibration audio of {x.shape[-1]} samples is shorter than {codec.min_samples}")
        enc.append({md.AUDIO: x})
        dec.append({md.code_name(i): c for i, c in enumerate(codec.encode(x))})
    return {"encoder": enc, "decoder": dec}


class _NoPreprocessAdvice(logging.Filter):
    """Drops onnxruntime.quantization's root-logger advice to run its shape pre-processing (once per graph)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider")


def _quantize(src: Path, dst: Path, graph: str, quantization: str, feeds: dict | None, keep: Sequence[str]) -> None:
    """int8 `src` -> `dst`; nodes whose name contains one of `keep` stay float."""
    advice = _NoPreprocessAdvice()
    logging.getLogger().addFilter(advice)
    try:
        _quantize_with_ort(src, dst, graph, quantization, feeds, keep)
    finally:
        logging.getLogger().removeFilter(advice)


def _quantize_with_ort(
    src: Path, dst: Path, graph: str, quantization: str, feeds: dict | None, keep: Sequence[str]
) -> None:
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    nodes = onnx.load(str(src)).graph.node
    excluded = [n.name for n in nodes if any(k in n.name for k in keep)]
    ops = STATIC_OPS if quantization == "static" else DYNAMIC_OPS
    if not any(n.op_type in ops and n.name not in excluded for n in nodes):
        log.warning("%s has no %s node to quantize: its int8 graph computes as the fp32 one", src.name, "/".join(ops))
    if quantization == "static" and feeds is not None and graph in feeds:
        quantize_static(
            str(src), str(dst), _Feeds(feeds[graph]), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, op_types_to_quantize=list(STATIC_OPS), nodes_to_exclude=excluded,
        )  # fmt: skip
    else:
        quantize_dynamic(
            str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=list(DYNAMIC_OPS),
            nodes_to_exclude=excluded,
        )  # fmt: skip


def _convert_one(
    src: Path, dst: Path, precision: str, quantization: str, feeds: dict | None, keep: Sequence[str]
) -> str:
    """Write `src`'s graph at `precision` to `dst` (atomically); returns how it was made."""
    import onnx

    meta = _meta(onnx.load(str(src), load_external_data=False), src)
    graph = meta["graph"]
    how = "fp32"
    with atomic_path(dst) as tmp:
        if precision == "fp16":
            from onnxruntime.transformers.float16 import convert_float_to_float16

            onnx.save(convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(tmp))
            how = "fp16"
        elif precision == "int8":
            kind = quantization if quantization == "dynamic" or graph in ("encoder", "decoder") else "dynamic"
            _quantize(src, Path(tmp), graph, kind, feeds, keep)
            how = f"int8 {kind}"
        else:
            onnx.save(onnx.load(str(src)), str(tmp))
        _set_meta(Path(tmp), {**meta, "precision": precision, "quantization": how})
    return how


def convert_precision(
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    precision: str,
    quantization: str = "dynamic",
    calibration: Sequence[np.ndarray] | None = None,
    keep_float: Sequence[str] = (),
) -> dict[str, Path]:
    """Every graph of the fp32 export `src_dir` at `precision`, written to `out_dir`; returns {graph: path}.

    `calibration`: audio arrays ((C, T) or (T,), the codec's rate) for int8 "static" (required there).
    `keep_float`: int8 leaves float every node whose name contains one of these (e.g. "head": an output layer).
    """
    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if quantization not in QUANTIZATIONS:
        raise ExportError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
    src, out = Path(src_dir), Path(out_dir)
    if src.resolve() == out.resolve():
        raise ExportError(f"write the {precision} graphs to another directory than their fp32 source {src}")
    names = _graphs(src)
    feeds = None
    if precision == "int8" and quantization == "static":
        if not calibration:
            raise ExportError("int8 static quantization needs calibration audio (--calibration)")
        feeds = _calibration_feeds(src, calibration)
    out.mkdir(parents=True, exist_ok=True)
    for g in names:
        _convert_one(src / md.FILES[g], out / md.FILES[g], precision, quantization, feeds, tuple(keep_float))
    return {g: out / md.FILES[g] for g in names}


def export_precision(src_dir: str | os.PathLike) -> dict[str, str]:
    """{graph: "fp32" | "fp16" | "int8 dynamic" | "int8 static"} of an export directory, from its metadata."""
    import onnx

    src = Path(src_dir)
    out = {}
    for g in _graphs(src):
        path = src / md.FILES[g]
        meta = _meta(onnx.load(str(path), load_external_data=False), path)
        out[g] = meta.get("quantization", meta.get("precision", "fp32"))
    return out


def _scp_error(path: Path):  # noqa: ANN202 - the error factory `read_id_lines` takes
    return lambda n, line: ExportError(f"{path}:{n}: expected 'ID PATH', got {line!r}")


def read_calibration(
    sources: Sequence[str] | None, sample_rate: int, channels: int, limit: int = 8
) -> list[np.ndarray]:
    """Up to `limit` calibration files as `(channels, T)` float32 at `sample_rate`, from a wav.scp, folders of
    .wav files or files."""
    from codeckit.audio import read_audio
    from codeckit.fileio import read_id_lines

    if not sources:
        raise ExportError("int8 static quantization needs calibration audio: pass --calibration wav.scp (or files)")
    paths: list[Path] = []
    for s in sources:
        p = Path(s)
        if p.is_dir():
            paths += sorted(p.glob("*.wav"))
        elif p.suffix == ".scp":
            paths += [Path(v) for _, _, v in read_id_lines(p, _scp_error(p))]
        else:
            paths.append(p)
    if not paths:
        raise ExportError(f"no calibration audio found in {', '.join(sources)}")
    out = []
    for p in paths[: max(1, int(limit))]:
        audio, _ = read_audio(p, sample_rate, channels="mono")
        out.append(np.repeat(audio.numpy(), channels, axis=0))
    return out


def compare_precision(
    fp32_dir: str | os.PathLike, other_dir: str | os.PathLike, audio: Sequence[np.ndarray] | None = None
) -> dict[str, float]:
    """How far `other_dir`'s graphs are from fp32's on `audio` (default one second of noise): the share of equal
    codes, and the decoder's SNR in dB on fp32's codes."""
    from codeckit.export.runner import OnnxCodec

    ref, other = OnnxCodec(fp32_dir), OnnxCodec(other_dir)
    if not audio:
        rng = np.random.default_rng(0)
        audio = [(rng.standard_normal((ref.channels, ref.sample_rate)) * 0.1).astype(np.float32)]
    same = total = 0
    signal = error = 0.0
    for a in audio:
        codes = ref.encode(a)
        for c, d in zip(codes, other.encode(a)):
            same, total = same + int((c == d).sum()), total + c.size
        y, z = ref.decode(codes).astype(np.float64), other.decode(codes).astype(np.float64)
        signal, error = signal + float((y**2).sum()), error + float(((y - z) ** 2).sum())
    snr = float("inf") if error == 0 else 10 * np.log10(max(signal, 1e-30) / error)
    return {"codes_equal": round(same / max(total, 1), 4), "decoder_snr_db": round(snr, 2)}
