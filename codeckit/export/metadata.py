"""What every exported graph declares in its ONNX `metadata_props` (torch-free: the runner reads it).

Key `codeckit` holds one JSON object:

- `format`: "codeckit-onnx", `format_version`: 1, `graph`: "encoder" | "decoder" | "encoder_step" | "decoder_step".
- `codec`: `sample_rate`, `channels`, `hop_length` (samples per latent frame), `hop_lengths` and
  `codebook_sizes` per exported level (coarse to fine), `n_levels`, `pad_multiple` (inputs are coded in
  multiples of it; the encoder pads with zeros to it), `frame_rates`, `bitrate_bps`, `causal` (step graphs
  exist and stream exactly), `noise` ("off": a decoder NoiseBlock is left out), `min_samples` (shortest
  input the offline encoder takes; reflect-padded models need several frames), `chunk_samples` (declared
  streaming step), `context_samples` (overlap-save context each side for non-causal codecs: the receptive
  field rounded up to `pad_multiple`; 0 when causal), `codeckit_version`.
- `inputs` / `outputs`: graph input and output names in order: "audio" (float32 (batch, channels,
  samples)), "codes_<l>" (int64 (batch, frames_l)), and for step graphs one name per state.
- step graphs only: `states`, a list of {`name` (the layer's state, `<module path>.<state name>`), `input`,
  `output` (graph names), `shape` (first entry "batch"), `dtype` ("float32" | "bool"), `init` ("zeros" |
  "ones" | "value"), `value` (nested list for one stream, with `init` "value")}; and `streaming`:
  `chunk_samples` (the step size the export was declared with; any multiple of `pad_multiple` runs),
  `first_chunk_samples` (a stream's first step must be at least this long), `latency_samples`. Non-causal
  codecs with lookahead step graphs (`codeckit.export.lookahead`) add `mode` "lookahead", `delay_samples`
  (output comes this many samples late) and `no_end` (the `end` input's value while the input goes on); their
  step graphs take input "end" ((batch,) int64) after the chunk.
"""

from __future__ import annotations

import json
from typing import Any

KEY = "codeckit"
FORMAT = "codeckit-onnx"
FORMAT_VERSION = 1
GRAPHS = ("encoder", "decoder", "encoder_step", "decoder_step")
FILES = {g: f"{g}.onnx" for g in GRAPHS}
AUDIO = "audio"
END = "end"  # lookahead step graphs: (batch,) int64, the stream's length in samples once its input has ended


def code_name(level: int) -> str:
    """Graph input / output name of level `level`'s codes."""
    return f"codes_{level}"


def state_input(name: str) -> str:
    return f"state_in.{name}"


def state_output(name: str) -> str:
    return f"state_out.{name}"


def dumps(meta: dict[str, Any]) -> str:
    return json.dumps(meta, separators=(",", ":"), sort_keys=True)


def loads(text: str, source: str) -> dict[str, Any]:
    """Parse and check the metadata JSON of the graph at `source`."""
    from codeckit.export.errors import ExportError

    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise ExportError(f"{source}: metadata '{KEY}' is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ExportError(f"{source}: not a codeckit ONNX export (metadata format {meta.get('format')!r})")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ExportError(
            f"{source}: export format version {meta['format_version']} is newer than this runner's {FORMAT_VERSION}"
        )
    return meta
