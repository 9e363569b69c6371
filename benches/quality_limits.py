"""What limits a trained codec's quality: the bitrate or the decoder? And on which voices?

For each model directory, on the utterances of a Kaldi list (all, or every N-th), PESQ-WB and STOI per
speaker (utt2spk beside the list) and over all of them, for:
- `codec`: the codec as it is (all levels);
- `levels=N`: the first N levels only (how quality grows with bitrate);
- `unrounded`: for residual FSQ codecs, every level without its rounding (continuous, bounded values: the
  codes' bitrate is no longer the limit; what remains is the encoder, decoder and training).
- `ref_phase` / `ref_magnitude`: for decoders that end in an inverse-STFT head (non-causal), the head's
  magnitudes with the reference's STFT phase, and the reference's magnitudes with the head's phase (oracles:
  which half of the head's output costs the quality).
If `unrounded` scores about what `codec` scores, more bits would not help: the decoder (or the data) limits.

    python benches/quality_limits.py --models exp/cpu/model --data data/test/wav.scp [--every 5] \
        --out benches/results/quality_limits_cpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from tqdm import tqdm

from codeckit.bench.table import print_table
from codeckit.codecs import load_codec
from codeckit.fileio import read_id_lines, write_text_atomic
from codeckit.metrics.pesq import pesq_wb
from codeckit.metrics.stoi import stoi
from codeckit.nn.istft import MAX_MAGNITUDE, ISTFTHead
from codeckit.quantizers.fsq import FSQ
from codeckit.quantizers.residual import ResidualVQ


def unrounded_fsq(quantizer: torch.nn.Module, latents: torch.Tensor) -> torch.Tensor | None:
    """Residual FSQ's output with every level's rounding removed (None if the quantizer is not residual FSQ)."""
    if not isinstance(quantizer, ResidualVQ) or not all(isinstance(lv, FSQ) for lv in quantizer.levels):
        return None
    residual, out = latents, torch.zeros_like(latents)
    for level in quantizer.levels:
        step = level.out_proj(level._bound(level.in_proj(residual)) / level._half)
        out, residual = out + step, residual - step
    return out


def istft_oracles(codec: torch.nn.Module, quantized: torch.Tensor, audio: torch.Tensor) -> dict[str, torch.Tensor]:
    """The head's magnitudes with the reference's phase, and the reference's magnitudes with the head's phase."""
    heads = [m for m in codec.decoder.modules() if isinstance(m, ISTFTHead)]
    if len(heads) != 1 or heads[0].istft.causal:
        return {}
    head, istft = heads[0], heads[0].istft
    seen: dict[str, torch.Tensor] = {}
    hook = head.register_forward_hook(lambda m, args, out: seen.__setitem__("x", args[0]))
    codec.decoder(quantized)
    hook.remove()
    log_mag, phase = head.out(seen["x"].transpose(1, 2)).float().chunk(2, dim=-1)
    mag = log_mag.clamp(max=math.log(MAX_MAGNITUDE)).exp()
    frames = mag.shape[1]  # frame t covers samples [t * hop - left, t * hop - left + n_fft) of the output
    padded = F.pad(audio.reshape(1, -1), (istft.left, istft.n_fft + frames * istft.hop_length))
    ref = torch.fft.rfft(padded.unfold(-1, istft.n_fft, istft.hop_length)[:, :frames] * istft.window, dim=-1)
    polar = lambda m, p: istft(torch.cat([m * torch.cos(p), m * torch.sin(p)], dim=-1))  # noqa: E731
    return {"ref_phase": polar(mag, ref.angle()), "ref_magnitude": polar(ref.abs(), phase)}


def variants(codec: torch.nn.Module, audio: torch.Tensor) -> dict[str, torch.Tensor]:
    """Decoded audio of the codec, of its first N levels, of its unrounded levels and of the head's oracles."""
    latents = codec.encoder(codec.pad(audio))
    n_levels = len(codec.codebook_sizes)
    quantized = codec.quantizer(latents, n_levels)[0]
    out = {"codec": codec.decoder(quantized), **istft_oracles(codec, quantized, audio)}
    for n in range(1, n_levels):
        out[f"levels={n}"] = codec.decoder(codec.quantizer(latents, n)[0])
    soft = unrounded_fsq(codec.quantizer, latents)
    if soft is not None:
        out["unrounded"] = codec.decoder(soft)
    return out


def score_model(model: str, items: list[tuple[str, str]], speakers: dict[str, str]) -> dict:
    """{variant: {speaker or 'all': {'pesq_wb', 'stoi', 'n'}}} for one model directory."""
    codec = load_codec(model).eval()
    scores: dict = defaultdict(lambda: defaultdict(list))
    for utt, path in tqdm(items, desc=Path(model).parent.name, unit="utt"):
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        x = x.mean(1)
        if sr != codec.sample_rate:
            sys.exit(f"{path}: {sr} Hz, but the codec codes {codec.sample_rate} Hz")
        with torch.inference_mode():
            outs = variants(codec, torch.from_numpy(x)[None, None])
        for name, y in outs.items():
            y = y[0, 0, : len(x)].numpy()
            pair = (pesq_wb(x, y, sr), stoi(x, y, sr))
            scores[name][speakers.get(utt, "?")].append(pair)
            scores[name]["all"].append(pair)
    return {
        name: {
            spk: {"pesq_wb": float(np.mean([p for p, _ in v])), "stoi": float(np.mean([s for _, s in v])), "n": len(v)}
            for spk, v in sorted(by_spk.items())
        }
        for name, by_spk in scores.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True, help="model directories")
    ap.add_argument("--data", required=True, help="a wav.scp (utt2spk beside it groups the rows by speaker)")
    ap.add_argument("--out", required=True, help="JSON results")
    ap.add_argument("--every", type=int, default=1, help="score every N-th utterance of the list (default: all)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    scp = Path(args.data)
    items = [(u, p) for _, u, p in read_id_lines(scp, lambda n, line: SystemExit(f"{scp}:{n}: not 'ID PATH'"))]
    items = items[:: max(1, args.every)]
    u2s = scp.with_name("utt2spk")
    bad = lambda n, line: SystemExit(f"{u2s}:{n}: not 'UTT SPEAKER'")  # noqa: E731
    speakers = {u: s for _, u, s in read_id_lines(u2s, bad)} if u2s.is_file() else {}
    results = {m: score_model(m, items, speakers) for m in args.models}
    rows = [
        [m, name, spk, f"{v['pesq_wb']:.3f}", f"{v['stoi']:.3f}", str(v["n"])]
        for m, by_name in results.items()
        for name, by_spk in by_name.items()
        for spk, v in by_spk.items()
    ]
    print_table(["model", "variant", "speaker", "PESQ-WB", "STOI", "n"], rows, "<<<>>>")
    doc = {"data": str(scp), "every": args.every, "results": results}
    write_text_atomic(args.out, json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
