"""What a synthetic corpus holds: its sizes, splits and the utterances (jobs) it is made of.

Planning reads only the text sources and the voice tables; it runs no TTS engine, so a plan can be
checked (and a README written from it) apart from making the audio.
"""

from __future__ import annotations

from dataclasses import dataclass

from codeckit.corpus.errors import CorpusError
from codeckit.corpus.text import load_language_sentences, load_sentences
from codeckit.corpus.voices import ENGINES, OTHER_LANGUAGE_SPEAKERS, Speaker, check_unseen, speaker_table, speakers

SPLITS = ("train", "dev", "test")
SENTENCE_POOL = 4400  # sentences drawn from the text source; every 20th goes to test, the next to dev


@dataclass(frozen=True)
class CorpusSize:
    """How many distinct sentences each split gets, and how many speakers read each train sentence."""

    train: int
    dev: int
    test: int
    train_repeats: int = 1

    def sentences(self) -> int:
        """Distinct sentences over all splits (a train sentence read by several speakers counts once)."""
        return self.train + self.dev + self.test


SIZES = {
    # The default recipe's corpus: about 15 minutes of training speech, made in about a minute.
    "small": CorpusSize(train=360, dev=16, test=24),
    # 2,500 distinct sentences, every train sentence read by two speakers (about 4 hours).
    "full": CorpusSize(train=2200, dev=150, test=150, train_repeats=2),
}


@dataclass(frozen=True)
class Job:
    """One utterance to make."""

    utt: str
    speaker: Speaker
    text: str
    split: str


def rate_dir(rate: int) -> str:
    """The folder name of one sample rate's tree: 16000 -> '16k', 22050 -> '22050'."""
    return f"{rate // 1000}k" if rate % 1000 == 0 else str(rate)


def deal_sentences(pool: list[str]) -> dict[str, list[tuple[int, str]]]:
    """The pool's (index, sentence) pairs dealt to splits by index: every 20th to test, the next to dev."""
    dealt: dict[str, list[tuple[int, str]]] = {s: [] for s in SPLITS}
    for i, s in enumerate(pool):
        dealt["test" if i % 20 == 0 else "dev" if i % 20 == 1 else "train"].append((i, s))
    return dealt


def split_sentences(pool: list[str], size: CorpusSize) -> dict[str, list[tuple[int, str]]]:
    """Deal the pool's sentences to splits by index (every 20th to test, the next to dev) and take each split's first n.

    The dealing does not depend on the size, so a small corpus is a subset of a full one.
    """
    dealt = deal_sentences(pool)
    out = {}
    for split in SPLITS:
        want = getattr(size, split)
        if len(dealt[split]) < want:
            raise CorpusError(f"the sentence pool gives {len(dealt[split])} {split} sentences, fewer than {want}")
        out[split] = dealt[split][:want]
    return out


def plan(
    size: CorpusSize,
    source: str = "fortunes",
    seed: int = 0,
    engines: tuple[str, ...] = ENGINES,
    voices: str = "english",
) -> list[Job]:
    """The utterances of a corpus: each split's sentences dealt round-robin to that split's speakers.

    The English part is the same for every voice set; `all` adds the other languages' jobs after it.
    """
    check_unseen(speaker_table(voices))
    jobs = _english_jobs(size, source, seed, engines)
    if voices == "all":
        jobs += _other_language_jobs(size, source, seed, engines)
    return jobs


def _english_jobs(size: CorpusSize, source: str, seed: int, engines: tuple[str, ...]) -> list[Job]:
    pool = load_sentences(source, SENTENCE_POOL, seed)
    by_split = split_sentences(pool, size)
    jobs = []
    for split in SPLITS:
        spk = speakers(split, engines)
        repeats = size.train_repeats if split == "train" else 1
        for k, (sid, text) in enumerate(by_split[split]):
            for r in range(repeats):
                s = spk[(k + r * (len(spk) // 2 + 1)) % len(spk)]
                jobs.append(Job(f"{s.id}_{sid:05d}", s, text, split))
    return jobs


def _other_language_jobs(size: CorpusSize, source: str, seed: int, engines: tuple[str, ...]) -> list[Job]:
    """Each language's jobs: as many per speaker as an English speaker of the split gets, from its own sentences.

    A language with few sentences (the built-in sets) re-reads them with other speakers, at most once per
    speaker, so it may get fewer; its pool is dealt to splits like the English one.
    """
    english = {split: len(speakers(split, engines)) for split in SPLITS}
    per_speaker = {
        "train": size.train * size.train_repeats / english["train"],
        "dev": size.dev / english["dev"],
        "test": size.test / english["test"],
    }
    table = {split: [s for s in OTHER_LANGUAGE_SPEAKERS[split] if s.engine in engines] for split in SPLITS}
    jobs = []
    for lang in sorted({s.lang for split in SPLITS for s in table[split]}):
        # English voices here read the English corpus's pool, dealt the same way: its test sentences stay unseen
        pool = load_sentences(source, SENTENCE_POOL, seed) if lang == "en" else load_language_sentences(lang, seed)
        dealt = deal_sentences(pool)
        for split in SPLITS:
            spk = [s for s in table[split] if s.lang == lang]
            if not spk:
                continue
            sentences = dealt[split]
            if not sentences:
                raise CorpusError(f"the {lang} sentences give no {split} sentence for its {split} speakers")
            n = min(max(1, round(per_speaker[split] * len(spk))), len(sentences) * len(spk))
            for u in range(n):
                k, r = u % len(sentences), u // len(sentences)
                s = spk[(k + r) % len(spk)]  # r < len(spk): a speaker reads a sentence once
                sid, text = sentences[k]
                jobs.append(Job(f"{s.id}_{sid:05d}", s, text, split))
    return jobs
