"""How phone-like are a codec's level-1 tokens? Phone purity, cluster purity and PNMI (HuBERT, IV-B) against the
synthetic corpus's phones, timed from its synthesizers (codeckit.corpus.phones; nothing is written into the corpus).

Phone sets differ by engine (espeak-ng mnemonics; festival's and flite's US radio phones), so the scores are
per phone set. A control row scores each model's units shuffled over the same frames: the plug-in estimates
are biased upward when a level has many codes for few frames (a 1024-code level over 2,000 frames scores a
PNMI of about 0.5 shuffled), so compare each model with its own control, not raw PNMI across codebook sizes.
Frame labels: the phone at each level-1 frame's centre.

    nice -n 19 python benches/units_pnmi.py MODEL_DIR [MODEL_DIR ...] \\
        [--corpus egs/synth_speech/db/synth_small --data egs/synth_speech/units/data/test] \\
        [--out benches/results/units_pnmi.json]
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from codeckit.bench.table import print_table

ROOT = Path(__file__).resolve().parents[1]
PHONE_SETS = {"espeak": "espeak-ng", "festival": "radio (festival, flite)", "flite": "radio (festival, flite)"}


def phones_of(corpus: Path, data: Path, n: int, jobs: int):
    """(job, wav path, phone segments) of `n` evenly spaced utterances of data dir `data`."""
    from codeckit.corpus.lists import read_scp
    from codeckit.corpus.phones import corpus_jobs, utterance_phones

    wavs = read_scp(data / "wav.scp")
    todo = corpus_jobs(corpus, data)
    todo = todo[:: max(1, len(todo) // n)][:n]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        segs = list(pool.map(lambda j: utterance_phones(j, Path(wavs[j.utt])), todo))
    return [(j, wavs[j.utt], s) for j, s in zip(todo, segs)]


def level1_units(model: Path, items) -> tuple[list[np.ndarray], float]:
    """Each item's level-1 codes and that level's frame rate."""
    from codeckit.audio import read_audio
    from codeckit.codecs import load_codec

    codec = load_codec(model)
    units = []
    with torch.no_grad():
        for _, wav, _ in items:
            audio = read_audio(wav, codec.sample_rate, channels="mono")[0][None]
            units.append(codec.encode(audio, 1)[0][0].numpy())
    return units, codec.frame_rates[0]


def score_rows(name: str, units: list[np.ndarray], rate: float, items, seed: int = 0) -> list[dict]:
    """Scores of `units` per phone set, and of the same units shuffled over the frames (the control)."""
    from codeckit.metrics.pnmi import frame_labels, unit_phone_scores

    rows = []
    for phone_set in sorted(set(PHONE_SETS.values())):
        picked = [i for i, (job, _, _) in enumerate(items) if PHONE_SETS[job.speaker.engine] == phone_set]
        if not picked:
            continue
        u = [units[i] for i in picked]
        segments = [[(s.start, s.dur, s.phone) for s in items[i][2]] for i in picked]
        labels = [frame_labels(segs, rate, len(units[i])) for segs, i in zip(segments, picked)]
        shuffled = np.random.default_rng(seed).permutation(np.concatenate(u))
        for label, us in ((name, u), (f"{name} (shuffled)", [shuffled])):
            ls = labels if len(us) == len(labels) else [np.concatenate(labels)]
            s = unit_phone_scores(us, ls)
            rows.append({"model": label, "phone_set": phone_set, "utterances": len(picked), "frames": s.frames,
                         "frame_rate": rate, "phone_purity": s.phone_purity, "cluster_purity": s.cluster_purity,
                         "pnmi": s.pnmi})  # fmt: skip
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="model directories (units models, acoustic codecs)")
    p.add_argument("--corpus", default=str(ROOT / "egs" / "synth_speech" / "db" / "synth_small"))
    p.add_argument("--data", default=str(ROOT / "egs" / "synth_speech" / "units" / "data" / "test"))
    p.add_argument("--n", type=int, default=24, help="utterances (evenly spaced in the data dir)")
    p.add_argument("--jobs", type=int, default=2, help="utterances timed at once")
    p.add_argument("--out", default=str(ROOT / "benches" / "results" / "units_pnmi.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    items = phones_of(Path(args.corpus), Path(args.data), args.n, args.jobs)
    rows = []
    for model in args.models:
        units, rate = level1_units(Path(model), items)
        rows += score_rows(Path(model).resolve().parent.name, units, rate, items)
    cols = ["model", "phone_set", "utterances", "frames", "frame_rate", "phone_purity", "cluster_purity", "pnmi"]
    print_table(cols, [[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows])
    doc = {"corpus": args.corpus, "data": args.data, "models": args.models, "results": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json.tmp").write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".json.tmp").replace(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
