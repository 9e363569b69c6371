"""The synthetic corpus's speakers: TTS voices (espeak-ng, flite, festival) plus sox pitch/tempo changes.

A speaker is a base voice of one engine with a pitch shift (cents) and a tempo factor applied by
sox, so one voice gives several virtual speakers. The table below fixes which speakers belong to
train, dev and test: the test speakers' base voices (and espeak accents and variants) never occur
in training, so a codec is scored on unseen voices.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codeckit.corpus.errors import CorpusError

ENGINES = ("espeak", "flite", "festival")
FESTIVAL_VOICE_DIRS = (Path("/usr/share/festival/voices"),)
_PACKAGES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
_FESTIVAL_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
}


@dataclass(frozen=True)
class Speaker:
    """A virtual speaker: `engine` voice `voice`, shifted by `pitch` cents and sped up by `tempo`."""

    engine: str
    voice: str
    pitch: int = 0
    tempo: float = 1.0

    @property
    def id(self) -> str:
        """A short id with no spaces or underscores (Kaldi utterance ids are `<speaker>_<n>`)."""
        short = {"espeak": "espeak", "flite": "flite", "festival": "fest"}[self.engine]
        sid = f"{short}-{re.sub(r'[^A-Za-z0-9]', '', self.voice.replace('_diphone', ''))}"
        if self.pitch:
            sid += f"-p{self.pitch:+d}"
        if self.tempo != 1.0:
            sid += f"-t{round(self.tempo * 100)}"
        return sid

    def tts_command(self, text_file: Path, out_wav: Path) -> list[str]:
        """The command line that speaks the text in `text_file` into `out_wav` at the engine's own rate."""
        if self.engine == "espeak":
            return ["espeak-ng", "-v", self.voice, "-f", str(text_file), "-w", str(out_wav)]
        if self.engine == "flite":
            return ["flite", "-voice", self.voice, "-f", str(text_file), "-o", str(out_wav)]
        if self.engine == "festival":
            return ["text2wave", "-eval", f"(voice_{self.voice})", str(text_file), "-o", str(out_wav)]
        raise CorpusError(f"unknown TTS engine '{self.engine}' (known: {', '.join(ENGINES)})")


def _espeak(accent: str, variant: str) -> Speaker:
    return Speaker("espeak", f"{accent}+{variant}")


def _shifted(engine: str, voice: str, shifts: tuple[tuple[int, float], ...]) -> list[Speaker]:
    return [Speaker(engine, voice, p, t) for p, t in shifts]


_THREE = ((0, 1.0), (-250, 0.92), (250, 1.08))
_TRAIN_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan", "en-us-nyc")
_TRAIN_VARIANTS = ("m1", "f1", "m2", "f3", "m3", "f5", "m7", "klatt")

SPEAKERS: dict[str, list[Speaker]] = {
    "train": [
        *[_espeak(a, _TRAIN_VARIANTS[(3 * i + j) % 8]) for i, a in enumerate(_TRAIN_ACCENTS) for j in range(3)],
        *_shifted("flite", "slt", _THREE),
        *_shifted("flite", "rms", _THREE),
        *_shifted("flite", "kal16", _THREE),
        *_shifted("festival", "kal_diphone", _THREE),
        *_shifted("festival", "cmu_us_slt_arctic_hts", _THREE),
    ],
    "dev": [
        _espeak("en-gb-x-gbcwmd", "m4"),
        _espeak("en-gb-x-gbcwmd", "klatt2"),
        Speaker("flite", "rms", -500, 1.0),
        Speaker("festival", "kal_diphone", 450, 1.0),
    ],
    "test": [
        _espeak("en-gb-scotland", "m6"),
        _espeak("en-gb-scotland", "f4"),
        _espeak("en-029", "m5"),
        _espeak("en-029", "f2"),
        *_shifted("flite", "awb", ((0, 1.0), (200, 1.05))),
        *_shifted("festival", "ked_diphone", ((0, 1.0), (-200, 0.95))),
    ],
}


def speakers(split: str, engines: tuple[str, ...] = ENGINES) -> list[Speaker]:
    """The speakers of `split` ('train', 'dev', 'test') whose engine is in `engines`."""
    if split not in SPEAKERS:
        raise CorpusError(f"unknown split '{split}' (known: {', '.join(SPEAKERS)})")
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        raise CorpusError(f"unknown TTS engine '{bad[0]}' (known: {', '.join(ENGINES)})")
    chosen = [s for s in SPEAKERS[split] if s.engine in engines]
    if not chosen:
        raise CorpusError(f"split '{split}' has no speaker with the engines {', '.join(engines)}")
    return chosen


@functools.cache
def _flite_voices() -> frozenset[str]:
    out = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=False).stdout
    return frozenset(out.split(":", 1)[-1].split())


@functools.cache
def _espeak_voices() -> tuple[frozenset[str], frozenset[str]]:
    """(language codes, variant names) that espeak-ng lists; it speaks an unknown variant silently otherwise."""

    def table(arg: str, col: int) -> frozenset[str]:
        out = subprocess.run(["espeak-ng", arg], capture_output=True, text=True, check=False).stdout
        return frozenset(r.split()[col] for r in out.splitlines()[1:] if len(r.split()) > col)

    variants = frozenset(f.split("/", 1)[-1] for f in table("--voices=variant", 4))
    return table("--voices=en", 1), variants


def _festival_voices() -> frozenset[str]:
    return frozenset(p.name for d in FESTIVAL_VOICE_DIRS if d.is_dir() for p in d.glob("*/*") if p.is_dir())


def check_available(speaker_list: list[Speaker]) -> None:
    """Raise CorpusError naming the missing program, voice and Debian package before any work starts."""
    needed = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
    for engine in sorted({s.engine for s in speaker_list}):
        if shutil.which(needed[engine]) is None:
            raise CorpusError(f"'{needed[engine]}' not found: install the Debian package '{_PACKAGES[engine]}'")
    if shutil.which("sox") is None:
        raise CorpusError("'sox' not found: install the Debian package 'sox'")
    for s in speaker_list:
        if s.engine == "espeak":
            accent, _, variant = s.voice.partition("+")
            langs, variants = _espeak_voices()
            if accent not in langs or (variant and variant not in variants):
                raise CorpusError(
                    f"espeak-ng has no voice '{s.voice}' (see espeak-ng --voices=en and --voices=variant)"
                )
        if s.engine == "flite" and s.voice not in _flite_voices():
            raise CorpusError(f"flite has no voice '{s.voice}' (it has: {', '.join(sorted(_flite_voices()))})")
        if s.engine == "festival" and s.voice not in _festival_voices():
            pkg = _FESTIVAL_PACKAGES.get(s.voice)
            hint = f"install the Debian package '{pkg}'" if pkg else "install its festvox package"
            raise CorpusError(f"festival voice '{s.voice}' not found in {FESTIVAL_VOICE_DIRS[0]}: {hint}")
