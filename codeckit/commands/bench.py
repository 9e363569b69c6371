"""`codeckit bench`: score codecs on a set of files (PESQ, STOI, ViSQOL, spectral distances, SI-SDR,
bitrate, speed, token stability), cached so re-runs only compute what is new, reported as markdown, CSV,
JSON, plots and an HTML page (quality-vs-bitrate figure, audio players).

Columns:
  Delay ms           the codec's delay, removed before scoring every file: the delay it declares (decl.;
                     codeckit models 0, Opus 0), else one delay estimated over the whole set (est.; summed
                     cross-correlation within +-250 ms), never per file
  ViSQOL speech      ViSQOL v3 speech mode at 16 kHz with its lattice MOS model (the C++ default, as
                     published figures); the polynomial map only as --metrics visqol_speech_poly
  Tok. delta shift   neural codecs: fraction of tokens that change when the input starts 1/4, 1/2 or 3/4
                     of a hop later (mean of the three); 0 is perfectly stable
  Tok. delta context fraction that change when the middle half of a file is encoded alone rather than
                     inside the file (0.25 s at the segment's edges left out)
  Tok. delta noise   fraction that change when white noise at 40 dB SNR is added
  WER, WER orig.     word error rate of offline pocketsphinx (en-us) on the decoded audio and on the original,
                     against the transcript (a Kaldi `text` beside wav.scp, or --text); on by default when
                     there are transcripts; transcripts under 80% English dictionary words are not scored"""

from __future__ import annotations

import argparse

from codeckit.commands import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Attach `bench` to the top-level subparsers."""
    p = add_command(
        sub,
        "bench",
        "score codecs on a set of files and write a leaderboard",
        __doc__,
        epilog="SPEC: a model directory, opus:BITRATE (bit/s, e.g. opus:6000), codec2:MODE (e.g. codec2:3200), "
        "identity, or identity:MS (played MS ms late, no declared delay); NAME=SPEC sets the name shown.",
    )
    p.add_argument("--codecs", nargs="+", required=True, metavar="SPEC", help="codecs to compare")
    p.add_argument("--data", required=True, help="a directory of audio files (searched recursively) or a wav.scp")
    p.add_argument("--out", required=True, help="output directory (also holds the result cache)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1: in this process)")
    p.add_argument(
        "--metrics",
        nargs="+",
        default=None,
        help="metrics to compute (default: all but visqol_speech_poly; wer too where files have transcripts)",
    )
    p.add_argument("--text", default=None, help="Kaldi text file (ID WORDS...) for WER (default: text beside wav.scp)")
    p.add_argument("--examples", type=int, default=3, help="files with audio players on the HTML page")
    p.add_argument("--retry-failed", action="store_true", help="recompute results stored as failures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the leaderboard and say what was computed and written."""
    import logging

    from codeckit.bench import run_bench
    from codeckit.bench.report import markdown

    if args.jobs < 1:
        raise SystemExit("codeckit bench: error: --jobs must be at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = run_bench(
        args.codecs,
        args.data,
        args.out,
        metrics=args.metrics,
        jobs=args.jobs,
        retry_failed=args.retry_failed,
        n_examples=args.examples,
        progress=not args.no_progress,
        text=args.text,
    )
    metrics = list(next(iter(result.summaries)).metrics) if result.summaries else []
    print(markdown(result.summaries, metrics), end="")
    s = result.stats
    print(
        f"\n{s.pairs} (codec, file) pair(s) with new work ({s.codec_runs} codec runs), {s.skipped_pairs} fully cached"
    )
    if s.failures:
        print(f"{len(s.failures)} failure(s) recorded; see {result.outputs['per_file_csv']}")
    print(f"wrote {result.outputs['markdown']}, {result.outputs['html']}")
    return 0
