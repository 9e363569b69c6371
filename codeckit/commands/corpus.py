"""`codeckit corpus synth|download|prepare|subset`: make, fetch and list the corpora that recipes train on.

synth     make the built-in synthetic speech corpus (espeak-ng, flite, festival + sox); with
          --voices all --augment 0.8 the "natural" one: recorded festival voices of 8 more
          languages, 21 MBROLA voices of real speakers (en, de, es, pt-BR, pl), and reverb,
          microphone EQ, noise and level changes on 80% of utterances
download  download real corpora with SHA-256 checks and resume, and extract them
prepare   write Kaldi data dirs (train/dev/test) from a real corpus's folder
subset    copy N evenly spaced utterances of a data dir (a quicker test set)
"""

from __future__ import annotations

import argparse
import logging

from codeckit.commands import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Attach `corpus` and its actions (synth, download, prepare, subset) to the top-level subparsers."""
    p = add_command(sub, "corpus", "make, download and list corpora", __doc__, raw_help=True)
    actions = p.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    _add_synth(actions)
    _add_download(actions)
    _add_prepare(actions)
    _add_subset(actions)


def _add_download(actions: argparse._SubParsersAction) -> None:
    """`corpus download`: which corpus, where, and LibriTTS's parts."""
    d = actions.add_parser("download", help="download and extract a real corpus")
    d.add_argument("corpus", choices=["libritts", "ljspeech", "vctk"])
    d.add_argument("--dest", required=True, help="download folder (archives and extracted corpus)")
    d.add_argument("--parts", nargs="*", default=[], help="LibriTTS parts, e.g. train-clean-100 dev-clean test-clean")
    d.add_argument("--no-progress", action="store_true", help="no progress bar")
    d.set_defaults(func=run_download)


def _add_prepare(actions: argparse._SubParsersAction) -> None:
    """`corpus prepare`: the corpus folder and how it is split (LibriTTS parts, VCTK held-out speakers)."""
    r = actions.add_parser("prepare", help="write data dirs from a real corpus")
    r.add_argument("corpus", choices=["libritts", "ljspeech", "vctk"])
    r.add_argument("--src", required=True, help="LibriTTS/ folder, LJSpeech-1.1/ folder or VCTK-Corpus-0.92/ folder")
    r.add_argument("--out", required=True, help="where data/{train,dev,test} go")
    r.add_argument("--train-parts", nargs="+", default=["train-clean-100"], help="LibriTTS parts for train")
    r.add_argument("--dev-parts", nargs="+", default=["dev-clean"], help="LibriTTS parts for dev")
    r.add_argument("--test-parts", nargs="+", default=["test-clean"], help="LibriTTS parts for test")
    r.add_argument("--mic", default="mic1", choices=["mic1", "mic2"], help="VCTK microphone")
    r.add_argument("--test-speakers", type=int, default=8, help="VCTK: held-out test speakers")
    r.add_argument("--dev-speakers", type=int, default=4, help="VCTK: held-out dev speakers")
    r.set_defaults(func=run_prepare)


def _add_subset(actions: argparse._SubParsersAction) -> None:
    """`corpus subset`: source and new data dir, and how many utterances to keep."""
    b = actions.add_parser("subset", help="N evenly spaced utterances of a data dir")
    b.add_argument("src", help="data dir with wav.scp and utt2spk")
    b.add_argument("dst", help="new data dir")
    b.add_argument("--n", type=int, required=True, help="utterances to keep")
    b.set_defaults(func=run_subset)


def _add_synth(actions: argparse._SubParsersAction) -> None:
    """`corpus synth`: the corpus size, text, voices, recording chain and parallelism."""
    s = actions.add_parser("synth", help="make the synthetic speech corpus", description="Make or complete the corpus.")
    s.add_argument("--out", required=True, help="corpus directory (made or completed; cached per utterance)")
    s.add_argument(
        "--size",
        default="small",
        choices=["small", "full"],
        help="small: 400 utterances; full: 4,700 from 2,500 sentences",
    )
    s.add_argument("--train", type=int, help="train sentences (overrides --size)")
    s.add_argument("--dev", type=int, help="dev sentences (overrides --size)")
    s.add_argument("--test", type=int, help="test sentences (overrides --size)")
    s.add_argument("--repeats", type=int, help="speakers per train sentence (overrides --size)")
    s.add_argument("--text", default="fortunes", choices=["fortunes", "grammar"], help="sentence source")
    s.add_argument("--seed", type=int, default=0, help="shuffles the sentences")
    s.add_argument("--rates", type=int, nargs="+", default=[16000, 24000], help="sample rates to write")
    s.add_argument("--engines", nargs="+", default=["espeak", "flite", "festival"], help="TTS engines to use")
    s.add_argument(
        "--voices",
        default="english",
        help="english: the English voices (default); all: also every Debian festival voice recorded\n"
        "from a real speaker (it, cs, ru, fi, ca, hi, mr, te) and 21 MBROLA voices (en, de, es, pt, pl),\n"
        "each reading its own language",
    )
    s.add_argument(
        "--augment",
        type=float,
        default=0.0,
        metavar="P",
        help="probability that an utterance goes through a random recording chain (room reverb,\n"
        "microphone EQ, background noise, level); 0 (default) keeps all clean",
    )
    s.add_argument(
        "--phones",
        action="store_true",
        help="also write each data dir's phone timings ('phones': utt start dur phone), from the synthesizers;\n"
        "the audio is unchanged, so a finished corpus can get them later",
    )
    s.add_argument("--jobs", type=int, default=2, help="utterances made in parallel")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run_synth)


def _logging() -> None:
    """Log INFO to stderr unless the caller set up logging already."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_synth(args: argparse.Namespace) -> int:
    """Make or complete the synthetic corpus; --train/--dev/--test/--repeats override --size."""
    from codeckit.corpus.errors import CorpusError
    from codeckit.corpus.synth import SIZES, CorpusSize, synthesize

    _logging()
    base = SIZES[args.size]
    size = CorpusSize(
        train=base.train if args.train is None else args.train,
        dev=base.dev if args.dev is None else args.dev,
        test=base.test if args.test is None else args.test,
        train_repeats=base.train_repeats if args.repeats is None else args.repeats,
    )
    if min(size.train, size.dev, size.test, size.train_repeats) < 1:
        raise CorpusError(f"every split needs at least one sentence and train at least one speaker, got {size}")
    out = synthesize(
        args.out, size, source=args.text, seed=args.seed, rates=tuple(args.rates), engines=tuple(args.engines),
        jobs=args.jobs, progress=not args.no_progress, voices=args.voices, augment=args.augment, phones=args.phones,
    )  # fmt: skip
    print(f"corpus ready: {out} (see {out}/README.md)")
    return 0


def run_download(args: argparse.Namespace) -> int:
    """Download and extract a real corpus."""
    from codeckit.corpus.download import fetch

    _logging()
    dest = fetch(args.corpus, args.parts, args.dest, progress=not args.no_progress)
    print(f"{args.corpus} downloaded and extracted under {dest}")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    """Write the data dirs of a real corpus and print their sizes."""
    from codeckit.corpus import prepare

    if args.corpus == "libritts":
        dirs = prepare.prepare_libritts(
            args.src, args.out, tuple(args.train_parts), tuple(args.dev_parts), tuple(args.test_parts)
        )
    elif args.corpus == "ljspeech":
        dirs = prepare.prepare_ljspeech(args.src, args.out)
    else:
        dirs = prepare.prepare_vctk(args.src, args.out, args.mic, args.test_speakers, args.dev_speakers)
    for name, d in dirs.items():
        n = sum(1 for _ in open(d / "wav.scp"))
        print(f"{name}: {n} utterances in {d}")
    return 0


def run_subset(args: argparse.Namespace) -> int:
    """Copy N evenly spaced utterances of a data dir and print how many were kept."""
    from codeckit.corpus.lists import subset_data_dir

    d = subset_data_dir(args.src, args.dst, args.n)
    print(f"{d}: {sum(1 for _ in open(d / 'wav.scp'))} utterances")
    return 0
