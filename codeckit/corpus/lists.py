"""Kaldi-style data directories: `wav.scp`, `text`, `utt2spk`, `spk2utt` (and `utt2dur` when known).

Every file has one `<id> <value>` line per utterance, sorted by id. Ids and paths must not
contain whitespace, so the lists split unambiguously on the first space.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codeckit.corpus.errors import CorpusError
from codeckit.fileio import read_id_lines, write_text_atomic


@dataclass(frozen=True)
class Utterance:
    """One entry of a data directory."""

    utt: str
    speaker: str
    path: str
    text: str = ""
    duration: float | None = None


def write_data_dir(directory: str | os.PathLike, utterances: Iterable[Utterance]) -> Path:
    """Write a Kaldi data directory for `utterances`; raises CorpusError on duplicate or malformed ids."""
    d = Path(directory)
    utts = sorted(utterances, key=lambda u: u.utt)
    if not utts:
        raise CorpusError(f"no utterances to write to {d}")
    seen: set[str] = set()
    for u in utts:
        for what, value in (("utterance id", u.utt), ("speaker id", u.speaker), ("path", u.path)):
            if not value or any(c.isspace() for c in value):
                raise CorpusError(f"{d}: {what} {value!r} is empty or contains whitespace")
        if u.utt in seen:
            raise CorpusError(f"{d}: duplicate utterance id '{u.utt}'")
        if not u.utt.startswith(u.speaker):
            raise CorpusError(f"{d}: utterance id '{u.utt}' does not start with its speaker id '{u.speaker}'")
        seen.add(u.utt)
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for u in utts:
        spk2utt[u.speaker].append(u.utt)
    write_text_atomic(d / "wav.scp", "".join(f"{u.utt} {u.path}\n" for u in utts))
    # utterances without a transcript are left out of `text`, as in Kaldi
    write_text_atomic(d / "text", "".join(f"{u.utt} {' '.join(u.text.split())}\n" for u in utts if u.text.strip()))
    write_text_atomic(d / "utt2spk", "".join(f"{u.utt} {u.speaker}\n" for u in utts))
    write_text_atomic(d / "spk2utt", "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    if all(u.duration is not None for u in utts):
        write_text_atomic(d / "utt2dur", "".join(f"{u.utt} {u.duration:.3f}\n" for u in utts))
    return d


def read_scp(path: str | os.PathLike) -> dict[str, str]:
    """Read an `<id> <value>` list (wav.scp, text, utt2spk) into an ordered dict."""
    p = Path(path)
    if not p.is_file():
        raise CorpusError(f"list file not found: {p}")
    out: dict[str, str] = {}
    lines = read_id_lines(p, lambda n, line: CorpusError(f"{p}:{n}: expected '<id> <value>', got {line!r}"))
    for n, key, value in lines:
        if key in out:
            raise CorpusError(f"{p}:{n}: duplicate id '{key}'")
        out[key] = value
    return out


def subset_data_dir(src: str | os.PathLike, dst: str | os.PathLike, n: int) -> Path:
    """Copy `n` utterances of data directory `src`, evenly spaced in id order (so most speakers stay), to `dst`."""
    s, d = Path(src), Path(dst)
    if n < 1:
        raise CorpusError(f"a subset needs at least one utterance, got n={n}")
    wav = read_scp(s / "wav.scp")
    ids = sorted(wav)
    keep = ids if n >= len(ids) else [ids[i * len(ids) // n] for i in range(n)]
    text = read_scp(s / "text") if (s / "text").is_file() else {}
    utt2spk = read_scp(s / "utt2spk")
    dur = read_scp(s / "utt2dur") if (s / "utt2dur").is_file() else {}
    return write_data_dir(
        d, [Utterance(u, _speaker(s, utt2spk, u), wav[u], text.get(u, ""), _duration(s, dur, u)) for u in keep]
    )


def _speaker(src: Path, utt2spk: dict[str, str], utt: str) -> str:
    """The speaker of `utt`, or a CorpusError naming the file and the utterance."""
    if utt not in utt2spk:
        raise CorpusError(f"{src / 'utt2spk'}: no speaker for utterance '{utt}' of wav.scp")
    return utt2spk[utt]


def _duration(src: Path, dur: dict[str, str], utt: str) -> float | None:
    """The duration of `utt` in seconds (None if utt2dur does not list it); a CorpusError if it is not a number."""
    if utt not in dur:
        return None
    try:
        value = float(dur[utt])
    except ValueError:
        value = float("nan")
    if not (value >= 0 and value != float("inf")):
        raise CorpusError(
            f"{src / 'utt2dur'}: duration of '{utt}' is {dur[utt]!r}, not a non-negative number of seconds"
        )
    return value
