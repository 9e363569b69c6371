"""Metrics: bitrate (nominal and effective), alignment, PESQ, STOI, ViSQOL, spectral distances, SI-SDR."""

from codeckit.metrics.bitrate import nominal_bitrate

__all__ = ["nominal_bitrate"]
