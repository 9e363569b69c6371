"""Sentence sources: the fortune filter, the grammar, and their sizes."""

from __future__ import annotations

import pytest

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.text import FORTUNES_DIR, clean_sentence, fortune_sentences, grammar_sentences, load_sentences


@pytest.mark.parametrize(
    "text, want",
    [
        ("The early bird catches the worm.\n", "The early bird catches the worm."),
        ("Never put off till\n  tomorrow what you can.\n\t\t-- Proverb", "Never put off till tomorrow what you can."),
        ("Short one.", None),  # too few words
        ("WARNING: all caps shouting is not speech we want here.", None),
        ("Digits like 1984 are read differently by each engine, skip them.", None),
        ("One. Two words. Three words here. Four and more words.", None),  # too many sentence ends
        ("No final punctuation means it is probably a fragment", None),
    ],
)  # fmt: skip
def test_clean_sentence(text: str, want: str | None):
    assert clean_sentence(text) == want


def test_grammar_gives_many_distinct_deterministic_sentences():
    a = grammar_sentences(2500, seed=3)
    assert len(a) == len(set(a)) == 2500
    assert a == grammar_sentences(2500, seed=3)
    assert a[:50] != grammar_sentences(50, seed=4)
    assert all(s[0].isupper() and s[-1] in ".?" for s in a)
    assert not any(" a a" in s or " a e" in s or "A empty" in s for s in a)  # articles agree


@pytest.mark.skipif(not FORTUNES_DIR.is_dir(), reason="Debian package 'fortunes' is not installed")
def test_fortunes_give_more_than_2000_sentences():
    sentences = fortune_sentences()
    assert len(sentences) >= 2000
    assert len(set(sentences)) == len(sentences)
    assert all(clean_sentence(s) == s for s in sentences[:200])


def test_missing_fortunes_dir_names_the_package(tmp_path):
    with pytest.raises(CorpusError, match="apt-get install fortunes"):
        fortune_sentences(tmp_path / "none")


def test_load_sentences_rejects_unknown_source():
    with pytest.raises(CorpusError, match="unknown text source 'poems'"):
        load_sentences("poems", 10)
