"""WER: text normalisation and word edit distance on hand cases, and offline pocketsphinx on real synthesized speech."""

from __future__ import annotations

import functools
import itertools
import random
import subprocess

import numpy as np
import pytest

from codeckit.audio import read_audio
from codeckit.metrics.base import MetricError
from codeckit.metrics.suite import score
from codeckit.metrics.wer import check_english, edit_distance, normalize, spell_number, wer, word_error_rate

SENTENCE = "The future is a race between education and catastrophe."


def _reference_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """The textbook recursive Levenshtein definition (memoised), independent of the dynamic programme under test."""

    @functools.cache
    def d(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        return min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))

    return d(len(a), len(b))


@pytest.mark.parametrize(
    ("ref", "hyp", "expected"),
    [
        ("a b c", "a b c", 0.0),
        ("a b c", "a x c", 1 / 3),  # one substitution
        ("a b c", "a c", 1 / 3),  # one deletion
        ("a b c", "a b c d", 1 / 3),  # one insertion
        ("a b c", "", 1.0),  # everything deleted
        ("a b", "c d e f", 2.0),  # two substitutions, two insertions: WER passes 1
        ("the cat sat on the mat", "the cat sat on mat the", 2 / 6),  # delete 'the', insert 'the'
    ],
)
def test_wer_hand_cases(ref, hyp, expected):
    assert word_error_rate(ref, hyp) == pytest.approx(expected)


def test_edit_distance_matches_the_recursive_definition():
    rng = random.Random(0)
    for _ in range(200):
        a = tuple(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        b = tuple(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        assert edit_distance(list(a), list(b)) == _reference_distance(a, b), (a, b)
    for a, b in itertools.product([(), ("x",), ("x", "y")], repeat=2):
        assert edit_distance(list(a), list(b)) == _reference_distance(a, b)


def test_normalize():
    assert normalize("Don't STOP -- single-handedly, 'quoted' words!") == [
        "don't", "stop", "single", "handedly", "quoted", "words",
    ]  # fmt: skip
    assert (
        normalize("In 1984 there were 12 of 100")
        == "in one thousand nine hundred eighty four there were twelve of one hundred".split()
    )  # noqa: E501
    assert spell_number(0) == "zero" and spell_number(40) == "forty" and spell_number(2_000_005) == "two million five"
    assert word_error_rate("Hello, World.", "hello world") == 0.0  # case and punctuation do not count


def test_bad_transcripts_raise():
    with pytest.raises(MetricError, match="transcript with words"):
        word_error_rate("?!", "hello")
    with pytest.raises(MetricError, match="not English"):
        check_english("Der Mensch ist frei geschaffen, ist frei, und würd er in Ketten geboren.")
    check_english(SENTENCE)  # no error


@pytest.fixture(scope="module")
def flite_sentence(tmp_path_factory) -> np.ndarray:
    """SENTENCE spoken by flite's slt voice, 16 kHz mono."""
    path = tmp_path_factory.mktemp("wer") / "slt.wav"
    subprocess.run(["flite", "-voice", "slt", "-t", SENTENCE, "-o", str(path)], check=True)
    return read_audio(path, channels="mono")[0][0].numpy()


def test_pocketsphinx_understands_speech_and_not_noise(flite_sentence):
    """Real speech is mostly recognised (a loose bound: the recogniser is small); noise gives almost no words."""
    assert wer(flite_sentence, 16000, SENTENCE) < 0.35
    noise = np.random.default_rng(0).normal(0, 0.1, 3 * 16000).astype(np.float32)
    assert wer(noise, 16000, SENTENCE) > 0.8


def test_other_rates_are_resampled(flite_sentence):
    """The same speech given at 24 kHz (resampled to 16 kHz inside) scores about the same."""
    from codeckit.audio import resample

    at24 = resample(flite_sentence[None], 16000, 24000)[0].numpy()
    assert abs(wer(at24, 24000, SENTENCE) - wer(flite_sentence, 16000, SENTENCE)) <= 0.2


def test_suite_scores_wer_against_the_transcript(flite_sentence):
    s = score(flite_sentence, flite_sentence, 16000, ["wer", "si_sdr"], delay=0, text=SENTENCE)
    assert 0.0 <= s.values["wer"] < 0.35 and not s.errors
    missing = score(flite_sentence, flite_sentence, 16000, ["wer"], delay=0)
    assert "wer" not in missing.values and "needs a transcript" in missing.errors["wer"]
