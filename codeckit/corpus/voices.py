"""The synthetic corpus's speakers: TTS voices (espeak-ng, flite, festival) plus sox pitch/tempo changes.

A speaker is a base voice of one engine with a pitch shift (cents) and a tempo factor applied by
sox, so one voice gives several virtual speakers. The tables below fix which speakers belong to
train, dev and test: the test speakers' base voices (and espeak accents and variants) never occur
in training, so a codec is scored on unseen voices.

Two voice sets: `english` (the original corpus: English espeak-ng, flite and festival voices) and
`all` (`english` plus every other Debian festival voice built from recordings of a real speaker:
Italian, Czech, Russian, Finnish, Catalan, Hindi, Marathi and Telugu diphone, unit-selection and HTS
voices, and 21 MBROLA diphone voices recorded from real speakers of English, German, Spanish,
Brazilian Portuguese and Polish, spoken through espeak-ng; each voice speaks its own language).
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.text import text_encoding

ENGINES = ("espeak", "flite", "festival")
VOICE_SETS = ("english", "all")
FESTIVAL_VOICE_DIRS = (Path("/usr/share/festival/voices"),)
_PACKAGES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
_FESTIVAL_PACKAGES = {
    "kal_diphone": "festvox-kallpc16k",
    "ked_diphone": "festvox-kdlpc16k",
    "cmu_us_slt_arctic_hts": "festvox-us-slt-hts",
    "pc_diphone": "festvox-itapc16k",
    "lp_diphone": "festvox-italp16k",
    "czech_dita": "festvox-czech-dita",
    "czech_krb": "festvox-czech-krb",
    "czech_machac": "festvox-czech-machac",
    "czech_ph": "festvox-czech-ph",
    "msu_ru_nsh_clunits": "festvox-ru",
    "suo_fi_lj_diphone": "festvox-suopuhe-lj",
    "hy_fi_mv_diphone": "festvox-suopuhe-mv",
    "upc_ca_ona_hts": "festvox-ca-ona-hts",
    "hindi_NSK_diphone": "festvox-hi-nsk",
    "marathi_NSK_diphone": "festvox-mr-nsk",
    "telugu_NSK_diphone": "festvox-te-nsk",
}
# Language front ends that Debian only recommends (apt-get --no-install-recommends leaves them out).
_FESTIVAL_FRONTENDS = {
    "hindi_NSK_diphone": ("hindi_scm", "festival-hi"),
    "marathi_NSK_diphone": ("marathi_scm", "festival-mr"),
    "telugu_NSK_diphone": ("telugu_scm", "festival-te"),
}
FESTIVAL_LIB = Path("/usr/share/festival")
# The person behind a voice, where two voices are one recorded speaker (one speaker never spans train and test).
_PERSON = {
    ("flite", "kal16"): "kal",
    ("festival", "kal_diphone"): "kal",
    ("flite", "slt"): "slt",
    ("festival", "cmu_us_slt_arctic_hts"): "slt",
    ("festival", "ked_diphone"): "ked",
    ("festival", "hindi_NSK_diphone"): "nsk",
    ("festival", "marathi_NSK_diphone"): "nsk",
    ("festival", "telugu_NSK_diphone"): "nsk",
}
MBROLA_DIR = Path("/usr/share/mbrola")


@dataclass(frozen=True)
class Speaker:
    """A virtual speaker: `engine` voice `voice`, shifted by `pitch` cents and sped up by `tempo`."""

    engine: str
    voice: str
    pitch: int = 0
    tempo: float = 1.0
    lang: str = "en"

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

    @property
    def encoding(self) -> str:
        """The text encoding the engine reads for this voice (festival's older voices want ISO-8859-x)."""
        return text_encoding(self.lang) if self.engine == "festival" else "utf-8"

    @property
    def repairs_overflow(self) -> bool:
        """Whether its raw output gets 16-bit wrap-around undone (see synth.unwrap_overflow).

        festival's Italian and Finnish diphone voices overflow on loud vowels, and so do some MBROLA voices
        (es4); the English festival voices keep the audio of the english corpus (ked_diphone, a test voice,
        overflows rarely).
        """
        return (self.engine == "festival" and self.lang != "en") or self.voice.startswith("mb-")

    def base(self) -> frozenset[str]:
        """What identifies the recorded or designed voice: the person, or espeak's accent and variant apart."""
        if self.engine == "espeak":
            accent, _, variant = self.voice.partition("+")
            return frozenset({f"espeak:{accent}", *([f"espeak+{variant}"] if variant else [])})
        return frozenset({_PERSON.get((self.engine, self.voice), f"{self.engine}:{self.voice}")})

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


def _mbrola(voices: str, lang: str) -> list[Speaker]:
    """MBROLA voices (`mb-<name>` in espeak-ng, which reads the text and drives mbrola), unshifted."""
    return [Speaker("espeak", f"mb-{v}", lang=lang) for v in voices.split()]


def _shifted(engine: str, voice: str, shifts: tuple[tuple[int, float], ...], lang: str = "en") -> list[Speaker]:
    return [Speaker(engine, voice, p, t, lang) for p, t in shifts]


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


# Voices of `all` beyond `english`: Debian's festival voices recorded from real speakers, in their own
# languages. Held out for test: Czech `machac` and Finnish `mv` (their languages keep other voices in
# train). Not used: flite `kal` (kal16's speaker at 8 kHz), flite `awb_time` (speaks only the time; awb
# is a test voice), festvox-kallpc8k / kdlpc8k (8 kHz copies of kal and ked, and ked is a test voice).
# The MBROLA voices (Debian contrib/non-free: mbrola-<name>; licensed for non-commercial use) are diphones cut from
# one real speaker's recordings each, the most recorded speakers Debian ships; they train only, one speaker
# each without pitch or tempo shifts (their number already gives the variety). English ones read the English
# corpus's train sentences.
OTHER_LANGUAGE_SPEAKERS: dict[str, list[Speaker]] = {
    "train": [
        *_mbrola("us1 us2 us3 en1", "en"),
        *_mbrola("de1 de2 de3 de4 de5 de6 de7 de8", "de"),
        *_mbrola("es1 es2 es3 es4", "es"),
        *_mbrola("br1 br2 br3 br4", "pt"),
        *_mbrola("pl1", "pl"),
        *_shifted("festival", "pc_diphone", _THREE, "it"),
        *_shifted("festival", "lp_diphone", _THREE, "it"),
        *_shifted("festival", "czech_dita", _THREE, "cs"),
        *_shifted("festival", "czech_ph", _THREE, "cs"),
        *_shifted("festival", "czech_krb", _THREE, "cs"),
        *_shifted("festival", "msu_ru_nsh_clunits", _THREE, "ru"),
        *_shifted("festival", "suo_fi_lj_diphone", _THREE, "fi"),
        *_shifted("festival", "upc_ca_ona_hts", _THREE, "ca"),
        *_shifted("festival", "hindi_NSK_diphone", _THREE, "hi"),
        *_shifted("festival", "marathi_NSK_diphone", _THREE, "mr"),
        *_shifted("festival", "telugu_NSK_diphone", _THREE, "te"),
    ],
    "dev": [],
    "test": [
        Speaker("festival", "czech_machac", lang="cs"),
        Speaker("festival", "hy_fi_mv_diphone", lang="fi"),
    ],
}


def speaker_table(voices: str = "english") -> dict[str, list[Speaker]]:
    """Every split's speakers of voice set `voices` ('english' or 'all')."""
    if voices not in VOICE_SETS:
        raise CorpusError(f"unknown voice set '{voices}' (known: {', '.join(VOICE_SETS)})")
    if voices == "english":
        return SPEAKERS
    return {split: SPEAKERS[split] + OTHER_LANGUAGE_SPEAKERS[split] for split in SPEAKERS}


def speakers(split: str, engines: tuple[str, ...] = ENGINES, voices: str = "english") -> list[Speaker]:
    """The speakers of `split` ('train', 'dev', 'test') in voice set `voices` whose engine is in `engines`."""
    table = speaker_table(voices)
    if split not in table:
        raise CorpusError(f"unknown split '{split}' (known: {', '.join(table)})")
    bad = [e for e in engines if e not in ENGINES]
    if bad:
        raise CorpusError(f"unknown TTS engine '{bad[0]}' (known: {', '.join(ENGINES)})")
    chosen = [s for s in table[split] if s.engine in engines]
    if not chosen:
        raise CorpusError(f"split '{split}' has no speaker with the engines {', '.join(engines)}")
    return chosen


def check_unseen(table: dict[str, list[Speaker]]) -> None:
    """Raise CorpusError if a test speaker's base voice (person, espeak accent or variant) is also in train."""
    train = {b for s in table["train"] for b in s.base()}
    for s in table["test"]:
        shared = s.base() & train
        if shared:
            raise CorpusError(f"test speaker '{s.id}' shares {', '.join(sorted(shared))} with train")


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
        if s.engine == "espeak" and s.voice.startswith("mb-"):
            _check_mbrola(s.voice[3:])
        elif s.engine == "espeak":
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
        if s.engine == "festival" and s.voice in _FESTIVAL_FRONTENDS:
            folder, pkg = _FESTIVAL_FRONTENDS[s.voice]
            if not (FESTIVAL_LIB / folder).is_dir():
                raise CorpusError(
                    f"festival voice '{s.voice}' needs its language front end {FESTIVAL_LIB / folder}: "
                    f"install the Debian package '{pkg}'"
                )


def _check_mbrola(name: str) -> None:
    """Raise CorpusError unless the mbrola program and the voice `name`'s diphone database are installed."""
    if shutil.which("mbrola") is None:
        raise CorpusError("'mbrola' not found: install the Debian package 'mbrola' (section contrib)")
    if not (MBROLA_DIR / name / name).is_file():
        raise CorpusError(
            f"MBROLA voice '{name}' not found in {MBROLA_DIR / name}: install the Debian package 'mbrola-{name}' "
            "(section non-free)"
        )
