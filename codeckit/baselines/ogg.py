"""Just enough of the Ogg container (RFC 3533) to count the bytes of the packets an Ogg file carries."""

from __future__ import annotations

import struct

from codeckit.baselines.tools import BaselineError

_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, type, granule, serial, sequence, crc, segments


def ogg_packet_sizes(data: bytes) -> list[int]:
    """Byte sizes of the packets of a single-stream Ogg file, in order (lacing values joined across pages)."""
    sizes: list[int] = []
    pos, current = 0, 0
    while pos < len(data):
        if len(data) - pos < _HEADER.size:
            raise BaselineError(f"truncated Ogg page header at byte {pos}")
        capture, _, _, _, _, _, _, n_segments = _HEADER.unpack_from(data, pos)
        if capture != b"OggS":
            raise BaselineError(f"not an Ogg page at byte {pos}")
        lacing = data[pos + _HEADER.size : pos + _HEADER.size + n_segments]
        if len(lacing) != n_segments:
            raise BaselineError(f"truncated Ogg segment table at byte {pos}")
        for value in lacing:
            current += value
            if value < 255:  # a lacing value below 255 ends a packet
                sizes.append(current)
                current = 0
        pos += _HEADER.size + n_segments + sum(lacing)
        if pos > len(data):
            raise BaselineError("truncated Ogg page body")
    if current:
        sizes.append(current)
    return sizes
