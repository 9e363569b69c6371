"""`codeckit corpus prepare|subset|synth` with missing, empty or inconsistent inputs: one line each, no traceback.
(`download` needs the network and `synth` the TTS engines: only their argument checks are run here.)"""

from __future__ import annotations

import pytest
from robustness_helpers import assert_clean_error, cli


def _data_dir(root, wav="u1 a.wav\nu2 b.wav\n", utt2spk="u1 s1\nu2 s1\n", utt2dur=None):
    d = root / "data"
    d.mkdir()
    (d / "wav.scp").write_text(wav)
    (d / "utt2spk").write_text(utt2spk)
    if utt2dur is not None:
        (d / "utt2dur").write_text(utt2dur)
    return d


CASES = {
    # id: (argv builder, words the error must contain)
    "subset_missing_src": (lambda t: ["subset", t / "nope", t / "dst", "--n", "1"], ["list file not found"]),
    "subset_n_zero": (lambda t: ["subset", _data_dir(t), t / "dst", "--n", "0"], ["at least one"]),
    "subset_bad_line": (lambda t: ["subset", _data_dir(t, wav="u1\n"), t / "dst", "--n", "1"], ["expected"]),
    "subset_duplicate_id": (
        lambda t: ["subset", _data_dir(t, wav="u1 a.wav\nu1 b.wav\n"), t / "dst", "--n", "1"],
        ["duplicate id"],
    ),
    "subset_utt_without_speaker": (
        lambda t: ["subset", _data_dir(t, utt2spk="u1 s1\n"), t / "dst", "--n", "2"],
        ["utt2spk", "u2"],
    ),
    "subset_duration_not_a_number": (
        lambda t: ["subset", _data_dir(t, utt2dur="u1 abc\nu2 1.0\n"), t / "dst", "--n", "2"],
        ["utt2dur", "u1"],
    ),
    "prepare_ljspeech_missing_src": (
        lambda t: ["prepare", "ljspeech", "--src", t / "nope", "--out", t / "o"],
        ["not found"],
    ),
    "prepare_libritts_missing_src": (
        lambda t: ["prepare", "libritts", "--src", t / "nope", "--out", t / "o"],
        ["not found"],
    ),
    "prepare_vctk_missing_src": (
        lambda t: ["prepare", "vctk", "--src", t / "nope", "--out", t / "o"],
        ["not found"],
    ),
    "synth_no_train_sentences": (
        lambda t: ["synth", "--out", t / "c", "--train", "0", "--no-progress"],
        ["at least one sentence"],
    ),
    "unknown_action": (lambda t: ["frobnicate"], []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corpus_cli(capsys, tmp_path, case):
    argv, words = CASES[case]
    o = cli(capsys, "corpus", *argv(tmp_path))
    if case == "unknown_action":  # argparse: usage and exit 2
        assert o.rc == 2 and "invalid choice" in o.err and "Traceback" not in o.err
        return
    assert_clean_error(o, *words)
