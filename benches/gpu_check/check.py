"""On CUDA: a trained model codes and decodes the test files (length kept, finite output); the GPU's codes
against the CPU's (fraction equal), and the GPU's decoding of the CPU's codes against the CPU's (max abs diff)."""

import json
import sys

import torch

from codeckit.audio import read_audio
from codeckit.codecs import load_codec
from codeckit.train.data import read_wav_scp

model, scp, out = sys.argv[1:]
files = [path for _, path in read_wav_scp(scp)][:8]
gpu, cpu = load_codec(model, device="cuda"), load_codec(model, device="cpu")
rows = []
for f in files:
    audio, _ = read_audio(f, sample_rate=cpu.sample_rate)  # (1, samples), resampled to the codec's rate
    t = audio[None]
    n = audio.shape[-1]
    with torch.no_grad():
        cg, cc = gpu.encode(t.cuda()), cpu.encode(t)
        yg = gpu.decode(cg, length=n).cpu()
        yg_cc = gpu.decode([c.cuda() for c in cc], length=n).cpu()
        yc = cpu.decode(cc, length=n)
    eq = sum(int((a.cpu() == b).sum()) for a, b in zip(cg, cc)) / sum(b.numel() for b in cc)
    rows.append(
        {
            "file": f.split("/")[-1],
            "samples": n,
            "out_samples": yg.shape[-1],
            "finite": bool(torch.isfinite(yg).all()),
            "codes_equal_frac": eq,
            "decode_max_abs_diff": float((yg_cc - yc).abs().max()),
            "peak": float(yc.abs().max()),
        }
    )
    print(rows[-1])
json.dump(rows, open(out, "w"), indent=1)
