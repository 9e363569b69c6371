"""Sentences for the synthetic corpus: Debian's `fortunes` files, or a built-in grammar, per language.

English: `fortunes` (apt package `fortunes`) gives several thousand real, varied sentences after
filtering to one short plain-ASCII sentence each; the grammar gives an unlimited supply
of Harvard-style sentences with no package at all. Both are deterministic for a seed.
Other languages (the `all` voice set): Debian's Italian, Czech, Russian, German, Spanish, Brazilian
Portuguese and Polish fortune files (fortunes-it, -cs, -ru, -de, -es, -br, -pl), filtered the same way
in the language's own script, and small built-in sets for Finnish, Catalan, Hindi, Marathi and Telugu,
which Debian has no text for.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codeckit.corpus.builtin_sentences import BUILTIN
from codeckit.corpus.errors import CorpusError

FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Categories with mostly plain prose; skipped: ascii art, definitions ("word, n.:"), all-caps
# shouting (zippy), code (perl), and the categories whose jokes target groups of people.
FORTUNE_CATEGORIES = (
    "computers cookie disclaimer education food fortunes goedel humorists kids law linux linuxcookie "
    "literature love magic medicine miscellaneous news paradoxum people pets platitudes riddles science "
    "songs-poems sports startrek wisdom work"
).split()
TEXT_SOURCES = ("fortunes", "grammar")

_SENTENCE = re.compile(r"[A-Z][A-Za-z ,.'?!;-]*[a-z][.?!]")
_SHOUT = re.compile(r"\b[A-Z]{3,}\b")


def clean_sentence(text: str, min_words: int = 4, max_words: int = 18) -> str | None:
    """One plain English sentence from a fortune's text, or None when it is not one.

    Keeps ASCII letters and light punctuation, at most two sentence ends, and
    `min_words`..`max_words` words, so every TTS engine reads it the same way.
    """
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("--")]
    s = re.sub(r"\s+", " ", " ".join(lines)).strip()
    if not _SENTENCE.fullmatch(s) or _SHOUT.search(s) or ".." in s or "--" in s:
        return None
    if len(re.findall(r"[.?!](?: |$)", s)) > 2:
        return None
    n = len(s.split())
    return s if min_words <= n <= max_words else None


def fortune_sentences(
    directory: str | Path = FORTUNES_DIR, categories: Iterable[str] = FORTUNE_CATEGORIES
) -> list[str]:
    """Distinct sentences from the fortune files in `directory`, sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusError(
            f"fortune files not found in {directory}: install the Debian package 'fortunes' "
            "(apt-get install fortunes) or use the text source 'grammar'"
        )
    found: set[str] = set()
    for name in categories:
        path = directory / name
        if not path.is_file():
            continue
        for chunk in re.split(r"\n%\n", path.read_text(encoding="latin-1")):
            s = clean_sentence(chunk)
            if s is not None:
                found.add(s)
    if not found:
        raise CorpusError(f"no usable sentences in the fortune files under {directory}")
    return sorted(found)


_ADJ = (
    "small red green quiet heavy bright old young tall narrow wooden silver cold warm dark empty "
    "round sharp soft rough clean broken yellow gentle busy patient lazy brave careful sudden"
).split()
_NOUN = (
    "dog boy girl farmer sailor clock kettle garden river window letter basket ship horse candle "
    "teacher doctor baker painter lamp bridge market field storm coat chair bottle hammer pencil "
    "mountain village engine kitten student stranger wagon drum mirror ladder"
).split()
_PLACE = (
    "the barn|the kitchen|the old mill|the station|the harbor|the library|the hill|the forest|"
    "the bakery|the town square|the cellar|the meadow|the beach|the school|the tower"
).split("|")
_VERB_T = (
    "painted carried found dropped fixed opened washed pushed lifted watched counted mended "
    "followed packed cleaned sold bought wrapped chased borrowed"
).split()
_VERB_I = "slept waited smiled sang danced shivered laughed rested wandered shouted listened".split()
_TIME = (
    "at dawn|after lunch|before the rain|in the evening|on a cold morning|late at night|every spring|"
    "during the fair|at noon|after the storm|on sunday|before supper"
).split("|")
_ADV = "slowly quickly quietly proudly gladly softly firmly calmly twice again".split()


def grammar_sentences(n: int, seed: int = 0) -> list[str]:
    """`n` distinct Harvard-style sentences drawn from a small English grammar, deterministic for `seed`."""
    rng = random.Random(seed)
    templates = (
        "The {a} {n} {vt} the {a2} {n2} {t}.",
        "A {a} {n} {vi} {adv} near {p}.",
        "The {n} {vt} a {a} {n2} in {p} {t}.",
        "{T} the {a} {n} {vi} by {p}.",
        "Did the {n} leave the {a} {n2} in {p}?",
        "The {a} {n} and the {n2} {vi} {t}.",
        "Bring the {a} {n} to {p} {t}.",
        "We {vt} the {n} {adv} and then {vi}.",
        "Her {a} {n} {vt} the {n2} {adv}.",
        "The {n2} by {p} was {a} and {a2}.",
    )
    out: list[str] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise CorpusError(f"the sentence grammar cannot make {n} distinct sentences")
        a, a2 = rng.sample(_ADJ, 2)
        n1, n2 = rng.sample(_NOUN, 2)
        t = rng.choice(_TIME)
        s = rng.choice(templates).format(
            a=a, a2=a2, n=n1, n2=n2, vt=rng.choice(_VERB_T), vi=rng.choice(_VERB_I),
            adv=rng.choice(_ADV), p=rng.choice(_PLACE), t=t, T=t[0].upper() + t[1:],
        )  # fmt: skip
        s = re.sub(r"\b([Aa]) (?=[aeiou])", r"\1n ", s)
        s = s[0].upper() + s[1:]
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def load_sentences(source: str, n: int, seed: int = 0) -> list[str]:
    """`n` distinct sentences from `source` ('fortunes' or 'grammar'), shuffled with `seed`."""
    if source == "grammar":
        return grammar_sentences(n, seed)
    if source != "fortunes":
        raise CorpusError(f"unknown text source '{source}' (known: {', '.join(TEXT_SOURCES)})")
    sentences = fortune_sentences()
    if len(sentences) < n:
        raise CorpusError(f"the fortune files give {len(sentences)} usable sentences, fewer than the {n} asked for")
    random.Random(seed).shuffle(sentences)
    return sentences[:n]


@dataclass(frozen=True)
class Language:
    """Where a language's sentences come from and how its festival voices read them."""

    script: str  # every letter of a sentence must be in this Unicode script
    encoding: str  # the text encoding its festival voices read (older voices want ISO-8859-x)
    fortunes: str | None = None  # folder under FORTUNES_DIR, or None: the built-in set
    package: str | None = None  # the Debian package of that folder
    categories: tuple[str, ...] = ()  # fortune files of mostly plain prose (quotes, aphorisms, laws)


LANGUAGES = {
    "en": Language("LATIN", "ascii"),
    "it": Language(
        "LATIN", "iso-8859-1", "it", "fortunes-it",
        tuple("computer formiche italia itatrek leggi norm paolotedeschi zuse".split()),
    ),
    "cs": Language(
        "LATIN", "iso-8859-2", "cs", "fortunes-cs",
        tuple("citace citat klasik-cz market murphy rdvcitaty stoa1 valka wright".split()),
    ),
    "ru": Language(  # Nikolai Vekshin's thematic collection of aphorisms
        "CYRILLIC", "utf-8", "ru", "fortunes-ru",
        tuple(
            "adv_v art book disa education foolish freewill friendship future genious happy ill knowledge "
            "life love polit success time truth war wealth work".split()
        ),
    ),
    "de": Language(
        "LATIN", "utf-8", "de", "fortunes-de",
        tuple(
            "anekdoten kinderzitate letzteworte murphy regeln sprichworte sprueche stilblueten wusstensie "
            "zitate".split()
        ),
    ),
    "es": Language(
        "LATIN", "utf-8", "es", "fortunes-es",
        tuple(
            f"{name}.fortunes" for name in "amistad arte ciencia familia filosofia humanos libertad poder proverbios "
            "refranes sabiduria sentimientos verdad vida".split()
        ),
    ),
    "pt": Language("LATIN", "utf-8", ".", "fortunes-br", ("brasil",)),  # Brazilian Portuguese, one file
    "pl": Language(
        "LATIN", "utf-8", "pl", "fortunes-pl",
        tuple("bajki dzieci milosc misc nauka pratchett sapkowski seneka wierszyki zen".split()),
    ),
    "fi": Language("LATIN", "iso-8859-1"),
    "ca": Language("LATIN", "iso-8859-1"),
    "hi": Language("DEVANAGARI", "utf-8"),
    "mr": Language("DEVANAGARI", "utf-8"),
    "te": Language("TELUGU", "utf-8"),
}  # fmt: skip
_WORDY = re.compile(r"(?:[^\W\d_]|[\u0900-\u097f\u0c00-\u0c7f]|[ ,.'?!;:-])*")
_ITALIAN_ACCENT = {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù", "E": "È", "A": "À", "O": "Ò"}


def language(lang: str) -> Language:
    """The table entry of `lang`; CorpusError names the known languages."""
    if lang not in LANGUAGES:
        raise CorpusError(f"unknown language '{lang}' (known: {', '.join(LANGUAGES)})")
    return LANGUAGES[lang]


def text_encoding(lang: str) -> str:
    """The encoding festival's voices of `lang` read their text in."""
    return language(lang).encoding


def clean_sentence_in(text: str, lang: str, min_words: int = 4, max_words: int = 18) -> str | None:
    """One plain sentence of `lang` from a fortune's text, or None: `clean_sentence`'s rules in the language's script.

    Every letter must be of the language's script and the sentence must fit its voices' text encoding.
    """
    script, encoding = language(lang).script, language(lang).encoding
    lines = [ln.strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("--")]
    s = re.sub(r"\s+", " ", " ".join(lines)).strip()
    if len(s) < 2 or not _WORDY.fullmatch(s) or s[-1] not in ".?!।" or s[-2] in " ,.'?!;:-":
        return None
    if not (s[0].isupper() or script not in ("LATIN", "CYRILLIC")) or ".." in s or "--" in s:
        return None
    if re.search(r"\.\w", s):  # an initial glued to a name ("С.Петрова"): festival's Russian front end fails on it
        return None
    if any(len(w) >= 3 and w.isupper() for w in re.findall(r"[^\W\d_]+", s)):
        return None
    letters = [c for c in s if c.isalpha() or unicodedata.category(c).startswith("M")]
    if any(not unicodedata.name(c, "").startswith(script) for c in letters):
        return None
    if len(re.findall(r"[.?!।](?: |$)", s)) > 2 or not min_words <= len(s.split()) <= max_words:
        return None
    try:
        s.encode(encoding)
    except UnicodeEncodeError:
        return None
    return s


def _restore_italian_accents(text: str) -> str:
    """fortunes-it writes accents as an apostrophe ("e'", "perche'"); festival's Italian reads the accented letter."""
    return re.sub(r"([aeiouAEO])'(?=[\s.,;:?!\"]|$)", lambda m: _ITALIAN_ACCENT[m.group(1)], text)


def language_sentences(lang: str, directory: str | Path = FORTUNES_DIR) -> list[str]:
    """Every distinct usable sentence of `lang` (not English) from Debian's fortunes or the built-in set, sorted."""
    spec = language(lang)
    if lang == "en":
        raise CorpusError("English sentences come from load_sentences (text source 'fortunes' or 'grammar')")
    if spec.fortunes is None:
        return sorted(set(BUILTIN[lang]))
    folder = Path(directory) / spec.fortunes
    if not folder.is_dir():
        raise CorpusError(f"{lang} fortune files not found in {folder}: install the Debian package '{spec.package}'")
    found: set[str] = set()
    for name in spec.categories:
        path = folder / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        if lang == "it":
            text = _restore_italian_accents(text)
        for chunk in re.split(r"\n%\n", text):
            s = clean_sentence_in(chunk, lang)  # a chunk with an undecodable byte has U+FFFD: not a letter, dropped
            if s is not None:
                found.add(s)
    if not found:
        raise CorpusError(f"no usable {lang} sentences in the fortune files under {folder}")
    return sorted(found)


def load_language_sentences(lang: str, seed: int = 0) -> list[str]:
    """All of `lang`'s sentences, shuffled with `seed` (a pool to deal to splits by position)."""
    sentences = language_sentences(lang)
    random.Random(seed).shuffle(sentences)
    return sentences
