"""Codec SPECs for the leaderboard: a model directory, `opus:BITRATE`, `codec2:MODE`, `identity` (or
`identity:MS`, played MS milliseconds late with no declared delay: a check of delay estimation), `dedup:MODEL_DIR`
(a units model on de-duplicated units with predicted durations, `codeckit.bench.units`), `onnx:EXPORT_DIR` (an
ONNX export of any precision run by onnxruntime, `codeckit.bench.onnx_codec`), each
optionally `NAME=SPEC`. Parsing checks what can be checked up front (tools installed, model loadable).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from codeckit.errors import CodeckitError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


class SpecError(CodeckitError, ValueError):
    """A codec SPEC that cannot be parsed or whose codec cannot be found (names the SPEC)."""


@dataclass(frozen=True)
class CodecEntry:
    """One codec of a leaderboard run."""

    name: str  # display name, also used in file names
    kind: str  # "model" | "opus" | "codec2" | "identity" | "units_dedup" | "onnx"
    arg: str  # model directory, Opus bitrate in bit/s, Codec2 mode, identity's delay in ms or ""
    key: str  # cache key: what the codec is (model content hash, or the normalized spec)

    @property
    def short_key(self) -> str:
        return hashlib.sha1(self.key.encode()).hexdigest()[:10]


def _hash_model_dir(path: Path) -> str:
    h = hashlib.sha256()
    for name in ("config.yaml", "model.safetensors"):
        f = path / name
        if not f.is_file():
            raise SpecError(f"model directory {path} has no {name}")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _check_loads(text: str, path: Path) -> None:
    """A SpecError unless the model directory loads: a broken model fails here, once, not in every worker."""
    from codeckit.codecs import load_codec

    try:
        load_codec(path)
    except CodeckitError as e:
        raise SpecError(f"codec spec '{text}': {e}") from None


def parse_spec(text: str) -> CodecEntry:
    """`[NAME=]SPEC` -> CodecEntry; checks the tool exists or the model directory loads."""
    from codeckit.baselines.codec2 import MODES
    from codeckit.baselines.codec2 import PACKAGE as C2_PACKAGE
    from codeckit.baselines.opus import MAX_BITRATE, MIN_BITRATE
    from codeckit.baselines.opus import PACKAGE as OPUS_PACKAGE
    from codeckit.baselines.tools import require_tool

    name, spec = None, text
    head, sep, rest = text.partition("=")
    if sep and _NAME.match(head) and not Path(text).exists():
        name, spec = head, rest
    kind, _, arg = spec.partition(":")
    if spec == "identity":
        entry = CodecEntry(name or "identity", "identity", "", "identity")
    elif kind == "identity" and arg:
        try:
            ms = float(arg)
        except ValueError:
            ms = -1.0
        if not 0 <= ms <= 1000:
            raise SpecError(f"codec spec '{text}': identity's delay must be 0..1000 ms, e.g. identity:12.5")
        entry = CodecEntry(name or f"identity+{ms:g}ms", "identity", f"{ms:g}", f"identity:{ms:g}")
    elif kind == "opus" and arg:
        try:
            bps = float(arg)
        except ValueError:
            raise SpecError(f"codec spec '{text}': Opus bitrate must be a number of bit/s, e.g. opus:6000") from None
        if not MIN_BITRATE <= bps <= MAX_BITRATE:
            raise SpecError(f"codec spec '{text}': Opus bitrate must be {MIN_BITRATE}..{MAX_BITRATE} bit/s")
        require_tool("opusenc", OPUS_PACKAGE)
        require_tool("opusdec", OPUS_PACKAGE)
        entry = CodecEntry(name or f"opus-{bps:g}", "opus", f"{bps:g}", f"opus:{bps:g}")
    elif kind == "codec2" and arg:
        mode = arg.upper()
        if mode not in MODES:
            raise SpecError(f"codec spec '{text}': unknown Codec2 mode '{arg}'; known: {', '.join(MODES)}")
        require_tool("c2enc", C2_PACKAGE)
        require_tool("c2dec", C2_PACKAGE)
        entry = CodecEntry(name or f"codec2-{mode}", "codec2", mode, f"codec2:{mode}")
    elif kind == "dedup" and arg:  # a units model on de-duplicated units with predicted durations
        from codeckit.bench.units import parse_dedup_spec

        entry = parse_dedup_spec(text, name, arg)
    elif kind == "onnx" and arg:  # an ONNX export (fp32, fp16 or int8) run by onnxruntime
        from codeckit.bench.onnx_codec import parse_onnx_spec

        entry = parse_onnx_spec(text, name, arg)
    else:
        entry = _model_entry(text, spec, name)
    if not _NAME.match(entry.name):
        raise SpecError(f"codec spec '{text}': name '{entry.name}' must be letters, digits and _.+- ; use NAME=SPEC")
    return entry


def _model_entry(text: str, spec: str, name: str | None) -> CodecEntry:
    """The entry of a model directory `spec` (named after it, or after its parent when it is called `model`)."""
    path = Path(spec)
    if not path.is_dir():
        raise SpecError(
            f"codec spec '{text}' is neither a model directory nor one of identity, identity:MS, opus:BITRATE, "
            "codec2:MODE, dedup:MODEL_DIR, onnx:DIR"
        )
    default = path.resolve().parent.name if path.resolve().name == "model" else path.resolve().name
    entry = CodecEntry(name or default, "model", str(path), f"model:{_hash_model_dir(path)}")
    _check_loads(text, path)
    return entry


def parse_specs(texts: list[str]) -> list[CodecEntry]:
    """Parse every SPEC; names must be unique (set one with NAME=SPEC)."""
    entries = [parse_spec(t) for t in texts]
    seen: dict[str, str] = {}
    for text, e in zip(texts, entries):
        if e.name in seen:
            raise SpecError(f"codec name '{e.name}' is used by '{seen[e.name]}' and '{text}'; set one with NAME=SPEC")
        seen[e.name] = text
    return entries
