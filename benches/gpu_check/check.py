"""On CUDA: a trained model codes and decodes the test files (length kept, finite output); the GPU's codes
against the CPU's (fraction equal), and the GPU's decoding of the CPU's codes against the CPU's (max abs diff)."""

import json
import sys

import soundfile as sf
import torch

from codeckit.codecs import load_codec

model, scp, out = sys.argv[1:]
files = [line.split()[1] for line in open(scp)][:8]
gpu, cpu = load_codec(model, device="cuda"), load_codec(model, device="cpu")
rows = []
for f in files:
    x, sr = sf.read(f, dtype="float32")
    t = torch.from_numpy(x)[None, None]
    with torch.no_grad():
        cg, cc = gpu.encode(t.cuda()), cpu.encode(t)
        yg = gpu.decode(cg, length=x.shape[0]).cpu()
        yg_cc = gpu.decode([c.cuda() for c in cc], length=x.shape[0]).cpu()
        yc = cpu.decode(cc, length=x.shape[0])
    eq = sum(int((a.cpu() == b).sum()) for a, b in zip(cg, cc)) / sum(b.numel() for b in cc)
    rows.append(
        {
            "file": f.split("/")[-1],
            "samples": x.shape[0],
            "out_samples": yg.shape[-1],
            "finite": bool(torch.isfinite(yg).all()),
            "codes_equal_frac": eq,
            "decode_max_abs_diff": float((yg_cc - yc).abs().max()),
            "peak": float(yc.abs().max()),
        }
    )
    print(rows[-1])
json.dump(rows, open(out, "w"), indent=1)
