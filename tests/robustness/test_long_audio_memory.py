"""A 10-minute file is tokenized, and its token file decoded to an audio file, in bounded memory: in a fresh
process the peak RSS grows by far less than the file's own samples (38.4 MB as float32) once a 30 s file has
set the working set of one chunk window. Both long-audio paths are covered: overlap-save (a non-causal codec)
and carried streaming state (a causal one). The codecs are tiny SEANets at 16 kHz, so the check is cheap."""

from __future__ import annotations

import copy
import json

import pytest
from robustness_helpers import make_model_dir, run_python

TINY_SEANET = {
    "sample_rate": 16000,
    "encoder": {"name": "seanet", "dimension": 8, "n_filters": 2, "ratios": [4, 4, 4], "lstm": 0, "causal": False},
    "quantizer": {"name": "rvq", "n_levels": 2, "level": {"name": "vq", "dim": 8, "codebook_size": 64}},
    "decoder": {"name": "seanet", "dimension": 8, "n_filters": 2, "ratios": [4, 4, 4], "lstm": 0, "causal": False},
}

CODE = r"""
import json, resource, sys
import numpy as np, soundfile as sf, torch
torch.set_num_threads(1)
import codeckit

model_dir, root = sys.argv[1], sys.argv[2]
sr, minutes = 16000, 10
t = np.arange(sr) / sr
second = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
for name, seconds in (("long", 60 * minutes), ("warm", 30)):
    with sf.SoundFile(f"{root}/{name}.wav", "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(seconds):
            f.write(second)

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

codec = codeckit.load(model_dir, chunk_seconds=5, context_seconds=1)
codec.tokenize_to_file(f"{root}/warm.wav", f"{root}/warm.tokens.safetensors")  # one window: the working set
codec.detokenize_to_file(f"{root}/warm.tokens.safetensors", f"{root}/warm_out.wav")
base = peak_mb()
codec.tokenize_to_file(f"{root}/long.wav", f"{root}/long.tokens.safetensors")
after_tokenize = peak_mb()
codec.detokenize_to_file(f"{root}/long.tokens.safetensors", f"{root}/long_out.wav")
after_detokenize = peak_mb()
print(json.dumps({"base": base, "tokenize": after_tokenize, "detokenize": after_detokenize,
                  "frames": sf.info(f"{root}/long_out.wav").frames}))
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize("causal", [False, True], ids=["overlap_save", "streaming_state"])
def test_ten_minutes_in_bounded_memory(tmp_path, causal):
    cfg = copy.deepcopy(TINY_SEANET)
    cfg["encoder"]["causal"] = cfg["decoder"]["causal"] = causal
    model_dir = make_model_dir(tmp_path / "model", config=cfg)
    proc = run_python(CODE, str(model_dir), str(tmp_path), timeout=560)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["frames"] == 10 * 60 * 16000
    growth = max(r["tokenize"], r["detokenize"]) - r["base"]
    print(f"peak RSS growth over the 10-minute file: {growth:.1f} MB ({r})")
    assert growth < 25, r  # MB; the file's samples alone are 38.4 MB as float32, one pass over them GBs
