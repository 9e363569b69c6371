"""Metrics: bitrate, and (later) PESQ, STOI, ViSQOL, mel distance, SI-SDR, codebook usage."""

from codeckit.metrics.bitrate import nominal_bitrate

__all__ = ["nominal_bitrate"]
