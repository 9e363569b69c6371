"""Phone timings of the synthetic corpus, from the synthesizers themselves: a `phones` list per data dir.

Each engine says when it speaks which phone, in its own phone set (espeak-ng mnemonics or MBROLA SAMPA,
festival's and flite's US radio phones); silences ('_', '_:', 'pau', 'h#') are written as `sil`:
- espeak-ng: the library's phoneme events (espeak_events.py, libespeak-ng through ctypes in a process of
  its own), whose audio length is checked against the command line's wav;
- festival: a text2wave hook writes each utterance's Segment items with their `end` times;
- flite: `-psdur` prints each utterance's segments with their end times.
Times are then moved the way synth.make_utterance moves the audio: divided by the sox tempo factor,
minus the leading silence sox trims (measured by running the same sox effects with and without the
trim), plus the 0.1 s pad; phones are cut to the wav's duration. The recording chain of augmented
utterances shifts nothing. Lists: `OUT/<rate>/<split>/phones`, one `utt start dur phone` line per
phone (seconds), and per utterance `OUT/phones/<spk>/<utt>.txt` (the cache that makes them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.planning import SPLITS, Job, rate_dir
from codeckit.corpus.voices import Speaker
from codeckit.fileio import read_id_lines, write_text_atomic

SILENCES = frozenset({"_", "_:", "_!", "_|", "pau", "h#", "#", "sil"})
PAD_S = 0.1  # the silence synth.make_utterance pads on each side
TRIM = ["silence", "1", "0.02", "-55d"]  # its leading-silence trim (the first of its two)
_FESTIVAL_HOOK = """(define (codeckit_segments utt)
  (let ((fd (fopen "{out}" "a"))
        (start (/ (- totalnumsamples (cadr (assoc 'num_samples (wave.info (utt.wave utt)))))
                  (cadr (assoc 'sample_rate (wave.info (utt.wave utt)))))))
    (mapcar (lambda (s) (format fd "%s %f\\n" (item.name s) (+ start (item.feat s "end"))))
            (utt.relation.items utt 'Segment))
    (fclose fd))
  utt)
(set! tts_hooks (append tts_hooks (list codeckit_segments)))
"""


@dataclass(frozen=True)
class Segment:
    """One phone: start and duration in seconds, and its label."""

    start: float
    dur: float
    phone: str


def _label(phone: str) -> str:
    return "sil" if phone in SILENCES else phone


def _from_ends(ends: list[tuple[str, float]]) -> list[Segment]:
    """Segments from (phone, end time) pairs in order, the first starting at 0."""
    out, start = [], 0.0
    for phone, end in ends:
        if end > start:
            out.append(Segment(start, end - start, _label(phone)))
        start = max(start, end)
    return out


def _run(cmd: list[str], what: str) -> str:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        err = (res.stderr or res.stdout).strip().splitlines()
        raise CorpusError(f"{what}: '{' '.join(cmd[:3])} ...' failed ({err[-1] if err else f'exit {res.returncode}'})")
    return res.stdout


def espeak_segments(voice: str, text_file: Path, rate: int) -> tuple[list[Segment], int]:
    """Phones of `text_file` spoken by espeak-ng voice `voice` (times in its output at `rate`: an MBROLA voice's
    rate, not the library's), and the samples it makes."""
    out = _run([sys.executable, "-m", "codeckit.corpus.espeak_events", voice, str(text_file)], text_file.stem)
    events = json.loads(out)
    starts, total = events["phonemes"], events["samples"]
    ends = [(p, s / rate) for (p, _), (_, s) in zip(starts, [*starts[1:], ["", total]])]
    first = starts[0][1] / rate if starts else 0.0
    return _from_ends([("_", first), *ends]), total


def raw_segments(speaker: Speaker, text_file: Path, raw_wav: Path) -> list[Segment]:
    """Speak `text_file` into `raw_wav` as the corpus does and return its phones in `raw_wav`'s time base."""
    cmd = speaker.tts_command(text_file, raw_wav)
    if speaker.engine == "espeak":
        _run(cmd, raw_wav.stem)
        made = sf.info(str(raw_wav))
        segs, n = espeak_segments(speaker.voice, text_file, made.samplerate)
        if n != made.frames:
            raise CorpusError(f"{raw_wav.stem}: libespeak-ng made {n} samples but espeak-ng wrote {made.frames}")
        return segs
    if speaker.engine == "festival":
        seg_file = raw_wav.with_suffix(".segments")
        hook = raw_wav.with_suffix(".scm")
        hook.write_text(_FESTIVAL_HOOK.format(out=seg_file))
        _run([*cmd[:3], "-eval", str(hook), *cmd[3:]], raw_wav.stem)
        rows = [ln.split() for ln in seg_file.read_text().splitlines() if ln.strip()]
        return _from_ends([(p, float(t)) for p, t in rows])
    if speaker.engine == "flite":
        out = _run([cmd[0], "-psdur", *cmd[1:]], raw_wav.stem)
        ends, offset = [], 0.0
        for line in out.splitlines():  # one line per utterance, its end times from its own start
            pairs = [tok.rsplit(":", 1) for tok in line.split()]
            ends += [(p, offset + float(t)) for p, t in pairs]
            offset = ends[-1][1] if ends else offset
        return _from_ends(ends)
    raise CorpusError(f"no phone timings for TTS engine '{speaker.engine}'")


def _sox_effects(speaker: Speaker) -> list[str]:
    """The pitch and tempo effects synth.make_utterance applies before trimming."""
    effects = ["pitch", str(speaker.pitch)] if speaker.pitch else []
    return effects + (["tempo", "-s", str(speaker.tempo)] if speaker.tempo != 1.0 else [])


def leading_trim(raw_wav: Path, speaker: Speaker, tmp: Path) -> float:
    """Seconds of (pitch- and tempo-changed) audio that the corpus's first sox silence effect removes."""
    lengths = []
    for name, trim in (("untrimmed", []), ("trimmed", TRIM)):
        out = tmp / f"{name}.wav"
        _run(["sox", "-R", "-q", str(raw_wav), "-c", "1", str(out), *_sox_effects(speaker), *trim], raw_wav.stem)
        info = sf.info(str(out))
        lengths.append(info.frames / info.samplerate)
    return lengths[0] - lengths[1]


def corpus_segments(raw: list[Segment], tempo: float, trim: float, duration: float) -> list[Segment]:
    """`raw` phones moved into the corpus wav's time base (t / tempo - trim + PAD_S), cut to [0, duration]."""
    out = []
    for s in raw:
        start = max(0.0, s.start / tempo - trim + PAD_S)
        end = min(duration, (s.start + s.dur) / tempo - trim + PAD_S)
        if end > start:
            out.append(Segment(start, end - start, s.phone))
    return out


def phone_file(out: Path, job: Job) -> Path:
    """Where one utterance's phones are cached."""
    return out / "phones" / job.speaker.id / f"{job.utt}.txt"


def make_phones(job: Job, out: Path, rate: int) -> None:
    """Write `job`'s phone timings (skipped when cached), measured against its wav at `rate`."""
    target = phone_file(out, job)
    if target.is_file():
        return
    segs = utterance_phones(job, out / rate_dir(rate) / "wav" / job.speaker.id / f"{job.utt}.wav")
    write_text_atomic(target, "".join(f"{s.start:.4f} {s.dur:.4f} {s.phone}\n" for s in segs))


def utterance_phones(job: Job, wav: Path) -> list[Segment]:
    """The phones of `job` in the time base of its corpus wav `wav` (spoken again; nothing is written)."""
    if not wav.is_file():
        raise CorpusError(f"{job.utt}: no wav at {wav} to time its phones against")
    with tempfile.TemporaryDirectory(prefix="codeckit-phones-") as tmp:
        t = Path(tmp)
        (t / "text.txt").write_text(job.text + "\n", encoding=job.speaker.encoding)
        raw = raw_segments(job.speaker, t / "text.txt", t / "raw.wav")
        trim = leading_trim(t / "raw.wav", job.speaker, t)
    segs = corpus_segments(raw, job.speaker.tempo, trim, sf.info(str(wav)).duration)
    if not segs:
        raise CorpusError(f"{job.utt}: no phone falls inside its wav")
    return segs


def write_phones(out: Path, todo: list[Job], rates: tuple[int, ...], jobs: int = 2, progress: bool = True) -> None:
    """Every job's phone timings (made on `jobs` threads, cached per utterance), then each data dir's `phones`."""
    from tqdm import tqdm

    errors = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(make_phones, j, out, rates[0]) for j in todo]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="phones", unit="utt", disable=not progress):
            if fut.exception() is not None:
                errors.append(str(fut.exception()))
    if errors:
        raise CorpusError(f"phone timings failed for {len(errors)} of {len(todo)} utterances, first: {errors[0]}")
    for split in SPLITS:
        lines = []
        for j in sorted((j for j in todo if j.split == split), key=lambda j: j.utt):
            lines += [f"{j.utt} {line}\n" for line in phone_file(out, j).read_text().splitlines()]
        for rate in rates:
            write_text_atomic(out / rate_dir(rate) / split / "phones", "".join(lines))


def read_phones(path: str | Path) -> dict[str, list[Segment]]:
    """A `phones` list (`utt start dur phone` per line, seconds) as each utterance's segments, in order."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"phone list not found: {path}")
    out: dict[str, list[Segment]] = {}
    for n, utt, rest in read_id_lines(path, lambda n, line: CorpusError(f"{path}:{n}: expected 'UTT START DUR PHONE'")):
        parts = rest.split()
        try:
            out.setdefault(utt, []).append(Segment(float(parts[0]), float(parts[1]), parts[2]))
        except (ValueError, IndexError):
            raise CorpusError(f"{path}:{n}: expected 'UTT START DUR PHONE', got '{utt} {rest}'") from None
    return out


def corpus_jobs(corpus: str | Path, data_dir: str | Path) -> list[Job]:
    """The jobs that made a data dir of the synthetic corpus `corpus` (its speakers.tsv, the dir's text and
    utt2spk), so phones can be timed for a corpus made before they existed, without writing into it."""
    from codeckit.corpus.lists import read_scp

    table = Path(corpus) / "speakers.tsv"
    if not table.is_file():
        raise CorpusError(f"{table} not found: is {corpus} a synthetic corpus made by codeckit corpus synth?")
    rows = [ln.split("\t") for ln in table.read_text().splitlines()[1:] if ln.strip()]
    by_id = {}
    for r in rows:
        spk = Speaker(r[2], r[3], int(r[4]), float(r[5]), r[6] if len(r) > 6 else "en")
        if spk.id != r[0]:
            raise CorpusError(f"{table}: speaker '{r[0]}' does not match its settings (they give '{spk.id}')")
        by_id[r[0]] = (spk, r[1])
    data_dir = Path(data_dir)
    text, utt2spk = read_scp(data_dir / "text"), read_scp(data_dir / "utt2spk")
    jobs = []
    for utt, words in text.items():
        if utt2spk.get(utt) not in by_id:
            raise CorpusError(f"{data_dir / 'utt2spk'}: utterance '{utt}' has no speaker of {table}")
        spk, split = by_id[utt2spk[utt]]
        jobs.append(Job(utt, spk, words, split))
    return jobs
