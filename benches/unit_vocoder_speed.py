"""How fast each `unit_hifigan` generator learns on this machine: the same wall-clock budget of training each.

Units as the units recipe makes them: 39-dim MFCC + deltas at 100 Hz (encoder `mfcc`), k-means (scikit-learn,
`--k` centres, fit here on the first `--fit-files` training files); the vocoder reads the centres. Each
generator trains from the same seed for `--seconds` of wall time on batches of 16 x 1 s crops with the default
recipe's losses (4-window mel x 15 + waveform L1, no GAN), then is scored by the same mel loss on fixed dev
crops. Prints a table and writes JSON.

    nice -n 19 python benches/unit_vocoder_speed.py --seconds 150 --out benches/results/unit_vocoder_speed.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from codeckit.bench.table import print_table

RECIPE = Path(__file__).resolve().parents[1] / "egs" / "synth_speech" / "codec" / "data"
GENERATORS = {
    "istft": {"generator": "istft", "dim": 256, "intermediate_dim": 768, "n_layers": 4, "n_fft": 640},
    "hifigan": {"generator": "hifigan", "dim": 128, "upsample_rates": [5, 4, 4, 2]},
}
MEL = {"name": "mel", "n_mels": [20, 40, 80, 160], "window_lengths": [128, 256, 512, 1024]}


def mel_loss() -> torch.nn.Module:
    """The recipe's 4-window mel loss at 16 kHz."""
    from codeckit.registry import LOSSES

    return LOSSES.build(MEL, sample_rate=16000)


def fit_centres(encoder: torch.nn.Module, scp: Path, n_files: int, k: int) -> torch.Tensor:
    """k-means centres (k, D) of the encoder's frames over the first `n_files` of `scp`."""
    from sklearn.cluster import MiniBatchKMeans

    from codeckit.audio import read_audio
    from codeckit.train.data import read_wav_scp

    frames = []
    for _, path in read_wav_scp(scp)[:n_files]:
        audio, _ = read_audio(path, 16000)
        with torch.no_grad():
            frames.append(encoder(audio[None])[0].T.numpy())
    km = MiniBatchKMeans(k, random_state=0, n_init=3, batch_size=4096).fit(np.concatenate(frames))
    return torch.from_numpy(km.cluster_centers_).float()


def units_of(encoder: torch.nn.Module, centres: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Audio (B, 1, T) -> the nearest centres (B, D, T / 160)."""
    with torch.no_grad():
        feats = encoder(audio).transpose(1, 2)  # (B, N, D)
        idx = torch.cdist(feats, centres[None].expand(feats.shape[0], -1, -1)).argmin(-1)
        return centres[idx].transpose(1, 2)


def dev_batch(scp: Path, n: int = 16) -> torch.Tensor:
    """The middle second of the first `n` dev files, (n, 1, 16000)."""
    from codeckit.audio import read_audio
    from codeckit.train.data import read_wav_scp

    crops = []
    for _, path in read_wav_scp(scp)[:n]:
        audio, _ = read_audio(path, 16000)
        start = max(0, (audio.shape[-1] - 16000) // 2)
        crop = audio[:, start : start + 16000]
        crops.append(torch.nn.functional.pad(crop, (0, 16000 - crop.shape[-1])))
    return torch.stack(crops)


def train_one(name: str, args: argparse.Namespace, encoder, centres, dev: torch.Tensor) -> dict:
    """Train generator `name` for `args.seconds` of wall time; its steps, speed and dev mel loss."""
    from codeckit.registry import DECODERS, LOSSES
    from codeckit.train.data import make_loader

    torch.manual_seed(0)
    spec = {"name": "unit_hifigan", "latent_dim": centres.shape[1], "hop_length": 160, **GENERATORS[name]}
    dec = DECODERS.build(spec)
    mel, l1 = mel_loss(), LOSSES.build({"name": "l1"})
    opt = torch.optim.AdamW(dec.parameters(), lr=1e-3, betas=(0.8, 0.99))
    loader, sampler = make_loader(str(args.data), 16000, 16000, 1, 16, 0, 0)
    steps, epoch, t0 = 0, 0, time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:
        sampler.set_epoch(epoch)
        for batch in loader:
            y = dec(units_of(encoder, centres, batch.audio))
            loss = 15 * mel(y, batch.audio) + l1(y, batch.audio)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            if time.perf_counter() - t0 >= args.seconds:
                break
        epoch += 1
    dt = time.perf_counter() - t0
    dec.eval()
    with torch.no_grad():
        dev_mel = float(mel(dec(units_of(encoder, centres, dev)), dev))
    params = sum(p.numel() for p in dec.parameters())
    return {"generator": name, "params": params, "steps": steps, "train_s": dt, "s_per_step": dt / steps,
            "audio_s_per_s": steps * 16 / dt, "dev_mel": dev_mel}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=RECIPE / "train" / "wav.scp")
    p.add_argument("--dev", type=Path, default=RECIPE / "dev" / "wav.scp")
    p.add_argument("--seconds", type=float, default=150.0, help="training wall time per generator")
    p.add_argument("--generators", nargs="+", default=list(GENERATORS), choices=list(GENERATORS))
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--fit-files", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benches/results/unit_vocoder_speed.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from codeckit.registry import ENCODERS

    importlib.import_module("codeckit.features.mfcc")  # registers encoder "mfcc"
    encoder = ENCODERS.build({"name": "mfcc"})
    centres = fit_centres(encoder, args.data, args.fit_files, args.k)
    dev = dev_batch(args.dev)
    with torch.no_grad():
        silent = float(mel_loss()(torch.zeros_like(dev), dev))
    rows = [train_one(g, args, encoder, centres, dev) for g in args.generators]
    header = ["generator", "params", "steps", "s/step", "audio s/s", "dev mel"]
    cells = [[r["generator"], f"{r['params']:,}", str(r["steps"]), f"{r['s_per_step']:.3f}"]
             + [f"{r['audio_s_per_s']:.1f}", f"{r['dev_mel']:.3f}"] for r in rows]  # fmt: skip
    print_table(header, cells, align="<>>>>>")
    print(f"dev mel of silence (the untrained floor): {silent:.3f}")
    doc = {"seconds": args.seconds, "k": args.k, "threads": args.threads, "silence_dev_mel": silent, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
