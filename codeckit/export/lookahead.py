"""Lookahead step graphs: streaming `encoder_step.onnx` / `decoder_step.onnx` for a non-causal SNAC stack.

Each temporal layer caches its own context as a state (`codeckit.nn.lookahead`), so a step computes only the
new frames and the stream equals the offline graphs once the declared delay is dropped. Inputs: the chunk
(audio, or codes per level), `end` ((batch,) int64: the stream's length in samples once its input has ended,
`NO_END` before), then the states; outputs: codes (or audio), then the next states. The metadata's
`streaming` object says `mode: "lookahead"`, `delay_samples` (input samples between a sample going in and its
output coming out, the encoder's a whole number of codec groups) and `no_end`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from codeckit.codecs.base import Codec
from codeckit.export import metadata as md
from codeckit.export.graphs import LookaheadDecoderStepGraph, LookaheadEncoderStepGraph
from codeckit.nn.lookahead import NO_END, LookaheadStack, lookahead_stack
from codeckit.nn.snac import SNACDecoder, SNACEncoder
from codeckit.nn.streaming import StreamingError, start_streaming, stop_streaming, streaming_state_spec

log = logging.getLogger(__name__)


def lookahead_stacks(model: Codec) -> tuple[LookaheadStack, LookaheadStack] | None:
    """The (encoder, decoder) lookahead stacks of a prepared SNAC-style codec, or None when it has none."""
    if not isinstance(model.encoder, SNACEncoder) or not isinstance(model.decoder, SNACDecoder):
        return None  # a SNAC stack's `forward` is its `layers` alone, which is what the stack streams
    group = model.pad_multiple // model.hop_length
    try:
        enc = lookahead_stack(model.encoder.layers, 1, group, model.encoder.dim)
        dec = lookahead_stack(model.decoder.layers, model.hop_length)
    except StreamingError as e:
        log.info("no lookahead step graphs: %s", e)
        return None
    return enc, dec


def export_lookahead_steps(
    model: Codec, out: Path, n: int, chunk: int, base: dict[str, Any], opset: int
) -> dict[str, Path]:
    """Write the lookahead step graphs of a prepared codec (`prepare_for_export`); {} when it has none."""
    from codeckit.export.exporter import _export, _io_names, _state_entries

    model.eval()  # torch.onnx.export leaves a wrapper's submodules in the wrapper's (training) mode
    stacks = lookahead_stacks(model)
    if stacks is None:
        return {}
    pm, c = model.pad_multiple, model.channels
    codes, axes = _io_names(n)
    paths = {}
    for part, stack in zip(("encoder", "decoder"), stacks):
        specs = streaming_state_spec(stack, 2)
        names = [s.name for s in specs]
        entries = _state_entries(specs, part)
        end = torch.full((2,), NO_END, dtype=torch.int64)
        states = tuple(s.initial for s in specs)
        if part == "encoder":
            graph: nn.Module = LookaheadEncoderStepGraph(stack, model.quantizer, n, names)
            args = (torch.randn(2, c, 3 * pm) * 0.1, end, *states)
            inputs, outputs = [md.AUDIO, md.END, *(e["input"] for e in entries)], [*codes]
        else:
            graph = LookaheadDecoderStepGraph(stack, model.quantizer, n, names)
            code_args = [torch.randint(0, s, (2, 3 * pm // h)) for s, h in zip(model.codebook_sizes, model.hop_lengths)]
            args = (*code_args[:n], end, *states)
            inputs, outputs = [*codes, md.END, *(e["input"] for e in entries)], [md.AUDIO]
        outputs += [e["output"] for e in entries]
        dynamic = {**axes, md.END: {0: "batch"}, **{e["input"]: {0: "batch"} for e in entries}}
        dynamic.update({e["output"]: {0: "batch"} for e in entries})
        streaming = {
            "mode": "lookahead",
            "chunk_samples": chunk,
            "first_chunk_samples": chunk,
            "delay_samples": stack.delay_samples,
            "latency_samples": chunk + stack.delay_samples,
            "no_end": NO_END,
        }
        meta = {**base, "graph": f"{part}_step", "states": entries, "streaming": streaming}
        graph.eval()
        start_streaming(graph, 2)
        try:
            paths[f"{part}_step"] = _export(graph, args, out / md.FILES[f"{part}_step"], inputs, outputs, dynamic,
                                            meta, opset)  # fmt: skip
        finally:
            stop_streaming(graph)
    return paths
