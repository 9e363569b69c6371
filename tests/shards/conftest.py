"""Fixtures of the corpus-shard tests: a tiny corpus (sub-second utterances at two rates, one corrupt file) and
tiny random-init codecs saved as model directories."""

from __future__ import annotations

from pathlib import Path

import pytest
from shard_helpers import write_corpus

from codeckit.codecs import save_codec


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """wav.scp of 8 good utterances and one corrupt file."""
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def snac_dir(tmp_path_factory, make_codec) -> Path:
    """snac_tiny (24 kHz, three levels at three rates, 1024 codes): the Orpheus layout fits it."""
    return save_codec(make_codec("snac_tiny"), tmp_path_factory.mktemp("models") / "snac_tiny")


@pytest.fixture(scope="session")
def seanet_dir(tmp_path_factory, make_codec, tiny_causal_seanet) -> Path:
    """A tiny causal SEANet (16 kHz, two levels at one rate): its codes are one Shar field."""
    return save_codec(make_codec(tiny_causal_seanet("constant")), tmp_path_factory.mktemp("models") / "seanet")
