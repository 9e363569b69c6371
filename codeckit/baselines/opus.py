"""Opus (RFC 6716) at any bitrate through opus-tools' `opusenc` / `opusdec`, via temporary files.

The bitrate actually spent is counted from the Opus packets in the Ogg file (its headers and
container framing excluded), since Opus's default VBR mode does not hit the target exactly.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import soundfile as sf
import torch

from codeckit.audio import read_audio
from codeckit.baselines.base import BaselineCodec, fit_length
from codeckit.baselines.ogg import ogg_packet_sizes
from codeckit.baselines.tools import BaselineError, require_tool, run_tool

PACKAGE = "opus-tools"
MIN_BITRATE, MAX_BITRATE = 6000, 256000  # opusenc's range per channel (it clamps silently outside it)
_HEADER_PACKETS = 2  # OpusHead and OpusTags (RFC 7845)


class OpusCodec(BaselineCodec):
    """Opus at a target `bitrate` (bits/s, VBR as opusenc does by default), decoded at `sample_rate`.

    Delay 0: opusenc records its look-ahead and resampler delay as the Ogg pre-skip, and opusdec drops
    that many samples (RFC 7845, section 4.2), so the output is in the input's time base.
    """

    delay_s = 0.0

    def __init__(self, bitrate: float, sample_rate: int = 48000, channels: int = 1):
        per_channel = bitrate / channels
        if not MIN_BITRATE <= per_channel <= MAX_BITRATE:
            raise ValueError(f"Opus bitrate must be {MIN_BITRATE}..{MAX_BITRATE} bit/s per channel, got {bitrate}")
        self.target = float(bitrate)
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.name = f"opus:{bitrate:g}"

    def encode(self, audio: torch.Tensor) -> list[bytes]:
        audio = self._check(audio)
        opusenc = require_tool("opusenc", PACKAGE)
        out = []
        with tempfile.TemporaryDirectory(prefix="codeckit-opus-") as tmp:
            wav, ogg = Path(tmp) / "in.wav", Path(tmp) / "out.opus"
            for item in audio:
                sf.write(str(wav), item.numpy().T, self.sample_rate, subtype="FLOAT")
                run_tool([opusenc, "--quiet", "--bitrate", f"{self.target / 1000:g}", str(wav), str(ogg)])
                out.append(ogg.read_bytes())
        return out

    def decode(self, payloads: list[bytes], length: int | None = None) -> torch.Tensor:
        opusdec = require_tool("opusdec", PACKAGE)
        items = []
        with tempfile.TemporaryDirectory(prefix="codeckit-opus-") as tmp:
            ogg, wav = Path(tmp) / "in.opus", Path(tmp) / "out.wav"
            for payload in payloads:
                ogg.write_bytes(payload)
                run_tool([opusdec, "--quiet", "--float", "--rate", str(self.sample_rate), str(ogg), str(wav)])
                items.append(read_audio(wav, self.sample_rate, channels="keep")[0])
        n = max(x.shape[-1] for x in items) if length is None else length
        return torch.stack([fit_length(x, n) for x in items])

    def bitrate(self) -> float:
        return self.target

    def payload_bits(self, payload: bytes) -> int:
        sizes = ogg_packet_sizes(payload)
        if len(sizes) < _HEADER_PACKETS:
            raise BaselineError(f"Ogg Opus stream has {len(sizes)} packets, fewer than its 2 header packets")
        return 8 * sum(sizes[_HEADER_PACKETS:])
