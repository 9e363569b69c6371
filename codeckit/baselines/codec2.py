"""Codec2 (low-bitrate speech) through the `c2enc` / `c2dec` tools at 8 kHz, via temporary raw files.

Audio at another `sample_rate` is resampled to the tool's rate with soxr and back. The payload is
c2enc's headerless bit file: whole frames packed into bytes, so its size is the bitrate really spent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from codeckit.audio import resample
from codeckit.baselines.base import BaselineCodec, fit_length
from codeckit.baselines.tools import require_tool, run_tool

PACKAGE = "codec2"
# mode -> (nominal bits/s, samples per frame at 8 kHz)
MODES: dict[str, tuple[int, int]] = {
    "3200": (3200, 160),
    "2400": (2400, 160),
    "1600": (1600, 320),
    "1400": (1400, 320),
    "1300": (1300, 320),
    "1200": (1200, 320),
    "700C": (700, 320),
    "450": (450, 320),
}
TOOL_RATE = 8000


class Codec2Codec(BaselineCodec):
    """Codec2 in one of its `MODES`, taking and returning audio at `sample_rate` (8 kHz natively).

    Its delay is not declared: c2dec's output lags the input by a mode-dependent amount that the tools do
    not document, so the leaderboard estimates it over the test set.
    """

    delay_s = None

    def __init__(self, mode: str, sample_rate: int = TOOL_RATE):
        mode = str(mode).upper()
        if mode not in MODES:
            raise ValueError(f"unknown Codec2 mode '{mode}'; known: {', '.join(MODES)}")
        self.mode = mode
        self.sample_rate = int(sample_rate)
        self.channels = 1
        self.name = f"codec2:{mode}"

    def encode(self, audio: torch.Tensor) -> list[bytes]:
        audio = self._check(audio)
        c2enc = require_tool("c2enc", PACKAGE)
        frame = MODES[self.mode][1]
        out = []
        with tempfile.TemporaryDirectory(prefix="codeckit-codec2-") as tmp:
            raw, bits = Path(tmp) / "in.raw", Path(tmp) / "out.bit"
            for item in audio:
                x = resample(item, self.sample_rate, TOOL_RATE)[0].numpy()
                x = np.pad(x, (0, (-len(x)) % frame))  # c2enc drops a last partial frame
                raw.write_bytes((np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes())
                run_tool([c2enc, self.mode, str(raw), str(bits)])
                out.append(bits.read_bytes())
        return out

    def decode(self, payloads: list[bytes], length: int | None = None) -> torch.Tensor:
        c2dec = require_tool("c2dec", PACKAGE)
        items = []
        with tempfile.TemporaryDirectory(prefix="codeckit-codec2-") as tmp:
            bits, raw = Path(tmp) / "in.bit", Path(tmp) / "out.raw"
            for payload in payloads:
                bits.write_bytes(payload)
                run_tool([c2dec, self.mode, str(bits), str(raw)])
                x = np.frombuffer(raw.read_bytes(), dtype="<i2").astype(np.float32) / 32768.0
                items.append(resample(x[None], TOOL_RATE, self.sample_rate))
        n = max(x.shape[-1] for x in items) if length is None else length
        return torch.stack([fit_length(x, n) for x in items])

    def bitrate(self) -> float:
        return float(MODES[self.mode][0])
