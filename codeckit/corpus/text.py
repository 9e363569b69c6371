"""English sentences for the synthetic corpus: Debian's `fortunes` files, or a built-in grammar.

`fortunes` (apt package `fortunes`) gives several thousand real, varied sentences after
filtering to one short plain-ASCII sentence each; the grammar gives an unlimited supply
of Harvard-style sentences with no package at all. Both are deterministic for a seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path

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
