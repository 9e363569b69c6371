"""Tokenizing a long file holds bounded memory: benches/long_audio.py on a short and a longer file."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from codeckit.codecs import build_codec, save_codec

BENCH = Path(__file__).resolve().parents[2] / "benches" / "long_audio.py"
NON_CAUSAL = {  # overlap-save path; cheap enough to code minutes of audio in seconds
    "sample_rate": 16000,
    "encoder": {"name": "seanet", "dimension": 16, "n_filters": 4, "ratios": [8, 8, 4], "lstm": 0, "causal": False},
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 16, "codebook_size": 64}},
    "decoder": {"name": "seanet", "dimension": 16, "n_filters": 4, "ratios": [4, 8, 8], "lstm": 0, "causal": False},
}


def test_peak_memory_does_not_grow_with_length(tmp_path):
    torch.manual_seed(0)
    model = save_codec(build_codec(copy.deepcopy(NON_CAUSAL)), tmp_path / "model")
    out = tmp_path / "long.json"
    # A fixed mmap threshold makes glibc return freed blocks, so the peak reflects memory actually held.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    cmd = [sys.executable, str(BENCH), "--models", str(model), "--minutes", "0.5", "8", "--file-sr", "8000"]
    cmd += ["--chunk-seconds", "1", "--context-seconds", "0.5", "--workdir", str(tmp_path), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=500)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "peak_mb" in res.stdout  # the table
    short, long = json.loads(out.read_text())["results"]
    assert (short["audio_minutes"], long["audio_minutes"]) == (0.5, 8.0)
    assert long["frames"][0] == 8 * 60 * 16000 // 256
    # Holding the audio would add (long - short) audio_mb (~28 MB at the codec rate alone); the chunks add
    # the codes (~0.5 MB) and allocator noise (a few MB from run to run).
    growth = long["peak_mb"] - short["peak_mb"]
    assert growth < 0.5 * (long["audio_mb"] - short["audio_mb"]), (short, long)
