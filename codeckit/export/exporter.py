"""Export a codec to ONNX: offline encoder / decoder graphs, and streaming step graphs for causal codecs (for
non-causal SNAC stacks, lookahead step graphs: `codeckit.export.lookahead`).

`export_codec(codec, out_dir)` traces the wrappers of `codeckit.export.graphs` on an eval copy of the
codec (weight norm folded, decoder noise off) with the TorchScript-based exporter, whose traces keep
lengths computed from tensor shapes symbolic. Batch and length axes are dynamic. Each file passes
`onnx.checker.check_model(full_check=True)` and carries the metadata of `codeckit.export.metadata`.
`verify_export` runs the files in onnxruntime at lengths the trace did not see and compares with PyTorch.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import codeckit
from codeckit.codecs.base import Codec
from codeckit.export import metadata as md
from codeckit.export.errors import ExportError
from codeckit.export.graphs import (
    DecoderGraph,
    DecoderStepGraph,
    EncoderGraph,
    EncoderStepGraph,
    prepare_for_export,
)
from codeckit.fileio import atomic_path
from codeckit.nn.conv import StreamableConv1d
from codeckit.nn.noise import NoiseBlock
from codeckit.nn.streaming import (
    StreamingError,
    start_streaming,
    stop_streaming,
    streaming_state_spec,
    streams_exactly,
)

log = logging.getLogger(__name__)
DEFAULT_OPSET = 17
_DTYPES = {torch.float32: "float32", torch.bool: "bool", torch.int64: "int64"}


def _reflect_short(module: nn.Module, run: Callable[[], Any]) -> bool:
    """Whether `run()` feeds some reflect-padded conv in `module` fewer frames than its padding needs.

    The traced graph keeps only the long-input branch of reflect padding (`codeckit.nn.conv.pad1d`), and a
    stream's first chunk must be as long (`StreamableConv1d`), so inputs that fall short are refused.
    """
    short = []

    def hook(conv: StreamableConv1d, args: tuple) -> None:
        n = args[0].shape[-1]
        left, right = conv.padding
        if n <= max(left, right + (-n) % conv.stride):
            short.append(conv)

    convs = [m for m in module.modules() if isinstance(m, StreamableConv1d) and m.pad_mode == "reflect"]
    if not convs:
        return False
    handles = [c.register_forward_pre_hook(hook) for c in convs]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return bool(short)


def _min_groups(module: nn.Module, make_input: Callable[[int], Any], limit: int = 256) -> int:
    """Smallest number of codec groups (`pad_multiple` samples) that no reflect-padded conv finds too short."""
    for k in range(1, limit + 1):
        with torch.no_grad():
            if not _reflect_short(module, lambda k=k: module(make_input(k))):
                return k
    raise ExportError(
        f"no input up to {limit} groups is long enough for the reflect padding of {type(module).__name__}"
    )


def _half_width(fn: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, int], limit: int) -> int:
    """How far (in input frames) the outputs at the middle input frame of `fn` reach back or ahead.

    `fn` maps (1, shape[0], T) to (1, C, T * r) for a fixed rate r; the reach is read from the gradient of those
    outputs, with T doubled until it fits inside.
    """
    channels, length = shape
    while length <= limit:
        x = torch.zeros(1, channels, length).normal_(0, 0.1).requires_grad_(True)
        with torch.enable_grad():
            y = fn(x)
            mid = length // 2
            ratio = y.shape[-1] / length  # output frames per input frame
            lo, hi = int(mid * ratio), max(int(mid * ratio) + 1, int((mid + 1) * ratio))
            (grad,) = torch.autograd.grad(y[..., lo:hi].sum(), x)
        hit = grad.abs().sum((0, 1)).nonzero().flatten()
        first, last = int(hit.min()), int(hit.max())
        if first > 0 and last < length - 1:
            return max(mid - first, last - mid)
        length *= 2
    raise ExportError(f"the receptive field is wider than {limit} frames")


def _context_samples(model: Codec) -> int:
    """Overlap-save context covering the encoder's and the decoder's receptive fields, in `pad_multiple` steps."""
    pm, hop = model.pad_multiple, model.hop_length
    enc = _half_width(model.encoder, (model.channels, 16 * pm), 1 << 24)
    dec = _half_width(model.decoder, (model.quantizer.dim, 16 * pm // hop), 1 << 20) * hop
    return -(-max(enc, dec) // pm) * pm


def _declaration(
    codec: Codec, n_levels: int, causal: bool, min_groups: int, chunk: int, context: int
) -> dict[str, Any]:
    """The metadata's `codec` object: the spec of the exported levels and what the export adds to it."""
    spec = codec.spec.first(n_levels)
    noise = any(isinstance(m, NoiseBlock) for m in codec.decoder.modules())
    return {
        **spec.to_dict(),
        "hop_length": codec.hop_length,
        "bitrate_bps": spec.bitrate(),
        "causal": causal,
        "noise": "off" if noise else None,
        "min_samples": min_groups * spec.pad_multiple,
        "chunk_samples": chunk,
        "context_samples": context,
        "codeckit_version": codeckit.__version__,
    }


def _io_names(n: int) -> tuple[list[str], dict[str, dict[int, str]]]:
    """The graph names of `n` levels' codes, and the dynamic axes of the audio and of those codes."""
    codes = [md.code_name(i) for i in range(n)]
    axes = {md.AUDIO: {0: "batch", 2: "samples"}, **{c: {0: "batch", 1: f"frames_{i}"} for i, c in enumerate(codes)}}
    return codes, axes


def _state_entries(specs: list, prefix: str) -> list[dict[str, Any]]:
    """The metadata entries of streaming states `specs` of the part `prefix` (names, shapes, initial values)."""
    entries = []
    for s in specs:
        name = f"{prefix}.{s.name}"
        row = s.initial[0]
        entry: dict[str, Any] = {
            "name": name,
            "input": md.state_input(name),
            "output": md.state_output(name),
            "shape": ["batch", *s.shape[1:]],
            "dtype": _DTYPES[s.dtype],
        }
        if not bool(row.any()):
            entry["init"] = "zeros"
        elif bool((row == 1).all()):
            entry["init"] = "ones"
        else:
            entry["init"], entry["value"] = "value", row.tolist()
        entries.append(entry)
    return entries


def _export(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    inputs: list[str],
    outputs: list[str],
    dynamic: dict[str, dict[int, str]],
    meta: dict[str, Any],
    opset: int,
) -> Path:
    """Trace `module` on `args` to `path` (atomically), attach metadata and check the model."""
    import onnx

    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings on shape checks that hold for every valid input
        try:
            with torch.no_grad():
                torch.onnx.export(
                    module,
                    args,
                    str(tmp),
                    dynamo=False,
                    input_names=inputs,
                    output_names=outputs,
                    dynamic_axes=dynamic,
                    opset_version=opset,
                    do_constant_folding=True,
                )
        except Exception as e:  # noqa: BLE001 - torch.onnx's own errors (an unsupported opset, an op it cannot export)
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ExportError(f"{path.name}: torch.onnx.export failed at opset {opset}: {first}") from None
        model = onnx.load(str(tmp))
        names = [i.name for i in model.graph.input]
        if names != inputs:
            raise ExportError(f"{path.name}: graph inputs {names} differ from the declared {inputs}")
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, {md.KEY: md.dumps({**meta, "inputs": inputs, "outputs": outputs})})
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(tmp))
    return path


def export_codec(
    codec: Codec,
    out_dir: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    chunk_frames: int | None = None,
    n_quantizers: int | None = None,
) -> dict[str, Path]:
    """Write the ONNX graphs of `codec` into `out_dir`; returns {graph name: path}.

    `chunk_frames`: latent frames per streaming step declared for the step graphs (a multiple of
    `pad_multiple / hop_length`; default the smallest). `n_quantizers`: export the first n levels (default all).
    """
    n = codec.spec.check_n_quantizers(n_quantizers, ExportError)
    chunk = _chunk_samples(codec, chunk_frames)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"output directory {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    model = prepare_for_export(codec)
    causal = streams_exactly(model.encoder) and streams_exactly(model.decoder)
    enc_groups, dec_groups = _min_input_groups(model, n)
    context = 0 if causal else _context_samples(model)
    declaration = _declaration(model, n, causal, enc_groups, chunk, context)
    base = {"format": md.FORMAT, "format_version": md.FORMAT_VERSION, "codec": declaration}
    paths = _export_offline(model, out, n, enc_groups, dec_groups, base, opset)
    if causal:
        paths.update(_export_steps(model, out, n, chunk, enc_groups, dec_groups, base, opset))
    else:
        from codeckit.export.lookahead import export_lookahead_steps

        paths.update(export_lookahead_steps(model, out, n, chunk, base, opset))
    log.info("exported %s to %s", ", ".join(paths), out)
    return paths


def _chunk_samples(codec: Codec, chunk_frames: int | None) -> int:
    """The declared streaming step in samples, after checking `chunk_frames` fills whole codec groups."""
    group = codec.pad_multiple // codec.hop_length
    chunk_frames = group if chunk_frames is None else int(chunk_frames)
    if chunk_frames < 1 or chunk_frames % group:
        raise ExportError(f"chunk_frames must be a positive multiple of {group} latent frames, got {chunk_frames}")
    return chunk_frames * codec.hop_length


def _min_input_groups(model: Codec, n: int) -> tuple[int, int]:
    """Fewest codec groups the encoder's and the decoder's reflect padding take (`_min_groups`)."""
    pm, c = model.pad_multiple, model.channels

    def audio_in(k: int) -> torch.Tensor:
        return torch.randn(1, c, k * pm) * 0.1

    def codes_in(k: int) -> list[torch.Tensor]:
        return [torch.zeros(1, k * pm // h, dtype=torch.long) for h in model.hop_lengths[:n]]

    enc = _min_groups(model.encoder, audio_in)
    return enc, _min_groups(model.decoder, lambda k: model.quantizer.decode(codes_in(k)))


def _export_offline(
    model: Codec, out: Path, n: int, enc_groups: int, dec_groups: int, base: dict[str, Any], opset: int
) -> dict[str, Path]:
    """The offline encoder and decoder graphs (dynamic batch and length) of the first `n` levels."""
    pm = model.pad_multiple
    codes, axes = _io_names(n)
    # trace on a length that is not a multiple of the padding, long enough for every reflect pad
    k = max(enc_groups, dec_groups, 4) + 1
    example = torch.randn(2, model.channels, k * pm - pm // 2 - 1) * 0.1
    paths = {}
    encoder_meta = {**base, "graph": "encoder"}
    paths["encoder"] = _export(
        EncoderGraph(model, n), (example,), out / md.FILES["encoder"], [md.AUDIO], codes, axes, encoder_meta, opset
    )
    example_codes = tuple(
        torch.randint(0, s, (2, k * pm // h)) for s, h in zip(model.codebook_sizes, model.hop_lengths)
    )
    decoder_meta = {**base, "codec": {**base["codec"], "min_samples": dec_groups * pm}, "graph": "decoder"}
    decoder_path = out / md.FILES["decoder"]
    paths["decoder"] = _export(
        DecoderGraph(model, n), example_codes[:n], decoder_path, codes, [md.AUDIO], axes, decoder_meta, opset
    )
    return paths


def _export_steps(
    model: Codec,
    out: Path,
    n: int,
    chunk: int,
    enc_groups: int,
    dec_groups: int,
    base: dict[str, Any],
    opset: int,
) -> dict[str, Path]:
    """The streaming step graphs of a causal codec (states as explicit inputs and outputs)."""
    pm, c = model.pad_multiple, model.channels
    codes, axes = _io_names(n)
    paths = {}
    for part in ("encoder", "decoder"):
        module = getattr(model, part)
        specs = streaming_state_spec(module, 2)
        names = [s.name for s in specs]
        entries = _state_entries(specs, part)
        first = max(chunk, (enc_groups if part == "encoder" else dec_groups) * pm)
        k = max(4, first // pm + 1)
        states = tuple(s.initial for s in specs)
        start_streaming(module, 2)
        try:
            if part == "encoder":
                graph: nn.Module = EncoderStepGraph(model, n, names)
                args = (torch.randn(2, c, k * pm) * 0.1, *states)
                inputs, outputs = [md.AUDIO, *(e["input"] for e in entries)], [*codes, *(e["output"] for e in entries)]
            else:
                graph = DecoderStepGraph(model, n, names)
                code_args = [
                    torch.randint(0, s, (2, k * pm // h)) for s, h in zip(model.codebook_sizes, model.hop_lengths)
                ]
                args = (*code_args[:n], *states)
                inputs, outputs = [*codes, *(e["input"] for e in entries)], [md.AUDIO, *(e["output"] for e in entries)]
            dynamic = {**axes, **{e["input"]: {0: "batch"} for e in entries}}
            dynamic.update({e["output"]: {0: "batch"} for e in entries})
            meta = {
                **base,
                "graph": f"{part}_step",
                "states": entries,
                "streaming": {"chunk_samples": chunk, "first_chunk_samples": first, "latency_samples": chunk},
            }
            paths[f"{part}_step"] = _export(
                graph, args, out / md.FILES[f"{part}_step"], inputs, outputs, dynamic, meta, opset
            )
        except StreamingError as e:
            raise ExportError(f"the {part} cannot stream: {e}") from None
        finally:
            stop_streaming(module)
    return paths


def verify_export(
    codec: Codec, out_dir: str | os.PathLike, seconds: float = 0.5, atol: float = 1e-4, threads: int = 1
) -> dict[str, float]:
    """Run the exported graphs in onnxruntime on noise of a length the trace did not see and compare with PyTorch.

    Raises ExportError when codes differ or decoded audio differs by more than `atol`; returns the numbers.
    """
    from codeckit.export.runner import OnnxCodec

    runner = OnnxCodec(out_dir, threads=threads)
    model = prepare_for_export(codec)
    n = runner.n_levels
    length = max(runner.min_samples, int(seconds * codec.sample_rate)) + 7
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(2, codec.channels, length, generator=gen) * 0.1
    with torch.no_grad():
        ref_codes = model.encode(audio, n)
        codes = runner.encode(audio.numpy())
        mismatch = sum(int((torch.from_numpy(a) != b).sum()) for a, b in zip(codes, ref_codes))
        ref_audio = model.decode(ref_codes).numpy()
    got = runner.decode([c.numpy() for c in ref_codes])
    diff = float(np.abs(got - ref_audio).max())
    result = {"samples": length, "code_mismatches": mismatch, "decoder_max_abs_diff": diff}
    if runner.causal or runner.lookahead:
        chunks = runner.stream_encoder(2)
        pieces = [
            chunks.push(audio[..., i : i + 3 * runner.chunk_samples].numpy())
            for i in range(0, length, 3 * runner.chunk_samples)
        ]
        pieces.append(chunks.flush())
        streamed = [np.concatenate([p[i] for p in pieces], axis=1) for i in range(n)]
        result["stream_code_mismatches"] = sum(int((s != c).sum()) for s, c in zip(streamed, codes))
    if mismatch or diff > atol or result.get("stream_code_mismatches", 0):
        raise ExportError(f"ONNX export in {out_dir} does not match PyTorch: {result}")
    return result
