"""The leaderboard ranks the classic codecs as expected on every metric:
identity > Opus 12 kbps > Opus 6 kbps > Codec2 3200, on two flite voices."""

from __future__ import annotations

import subprocess

import pytest

from codeckit.audio import read_audio, write_audio
from codeckit.bench import run_bench
from codeckit.metrics.suite import DEFAULT_METRICS, METRICS


@pytest.mark.slow
def test_classic_codecs_in_expected_order_on_every_metric(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for voice in ("rms", "slt"):
        raw = tmp_path / f"{voice}.wav"
        subprocess.run(["flite", "-voice", voice, "-t", "Glue the sheet to the dark blue background.", "-o", str(raw)],
                       check=True)  # fmt: skip
        write_audio(data / f"{voice}.wav", *read_audio(raw, 16000))
    codecs = ["identity", "opus:12000", "opus:6000", "codec2:3200"]
    result = run_bench(codecs, data, tmp_path / "out", jobs=2, progress=False)
    assert not result.stats.failures
    for name in DEFAULT_METRICS:
        spec = METRICS[name]
        means = [s.metrics[name].mean for s in result.summaries]
        ranked = sorted(means, reverse=spec.higher_is_better)
        assert means == ranked and len(set(means)) == len(means), (name, means)
