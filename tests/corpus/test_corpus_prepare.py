"""Real-corpus list preparation on fake folder trees laid out as LibriTTS, LJSpeech and VCTK are published."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from codeckit.cli import main
from codeckit.corpus.errors import CorpusError
from codeckit.corpus.lists import read_scp
from codeckit.corpus.prepare import prepare_libritts, prepare_ljspeech, prepare_vctk


def _audio(path: Path, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), (0.1 * np.sin(np.arange(rate // 20) * 0.3)).astype(np.float32), rate)


def _libritts(root: Path) -> Path:
    base = root / "LibriTTS"
    layout = {"train-clean-100": ["19", "26"], "dev-clean": ["84"], "test-clean": ["121", "237"]}
    for part, spks in layout.items():
        for spk in spks:
            for chapter in ("198", "4133"):
                for k in range(2):
                    utt = f"{spk}_{chapter}_000{k}_00000{k}"
                    _audio(base / part / spk / chapter / f"{utt}.wav", 24000)
                    (base / part / spk / chapter / f"{utt}.normalized.txt").write_text(f"Sentence {utt}.")
                    (base / part / spk / chapter / f"{utt}.original.txt").write_text(f"SENTENCE {utt}")
            (base / part / spk / "198" / f"{spk}_198.trans.tsv").write_text("")
    return base


def test_libritts(tmp_path):
    dirs = prepare_libritts(_libritts(tmp_path), tmp_path / "data")
    wav = read_scp(dirs["train"] / "wav.scp")
    assert len(wav) == 8 and "19_198_0000_000000" in wav
    assert wav["26_4133_0001_000001"].endswith("LibriTTS/train-clean-100/26/4133/26_4133_0001_000001.wav")
    assert Path(wav["26_4133_0001_000001"]).is_absolute()
    assert read_scp(dirs["train"] / "text")["19_198_0000_000000"] == "Sentence 19_198_0000_000000."
    assert read_scp(dirs["test"] / "utt2spk")["237_198_0001_000001"] == "237"
    assert len(read_scp(dirs["dev"] / "wav.scp")) == 4
    assert set(read_scp(dirs["test"] / "spk2utt")) == {"121", "237"}


def test_libritts_several_parts_and_missing_part(tmp_path):
    root = _libritts(tmp_path)
    dirs = prepare_libritts(root, tmp_path / "d", train=("train-clean-100", "dev-clean"))
    assert len(read_scp(dirs["train"] / "wav.scp")) == 12
    with pytest.raises(CorpusError, match="LibriTTS part 'train-clean-360' not found"):
        prepare_libritts(root, tmp_path / "e", train=("train-clean-360",))


def test_libritts_missing_transcript(tmp_path):
    root = _libritts(tmp_path)
    next(root.glob("test-clean/*/*/*.normalized.txt")).unlink()
    with pytest.raises(CorpusError, match="transcript missing"):
        prepare_libritts(root, tmp_path / "d")


def _ljspeech(root: Path) -> Path:
    base = root / "LJSpeech-1.1"
    rows = []
    for chapter, n in (("LJ001", 3), ("LJ002", 2), ("LJ003", 4), ("LJ050", 2)):
        for k in range(1, n + 1):
            utt = f"{chapter}-{k:04d}"
            _audio(base / "wavs" / f"{utt}.wav", 22050)
            rows.append(f"{utt}|Printing, in the only sense {k}.|Printing, in the only sense {k}.")
    (base / "metadata.csv").write_text("\n".join(rows) + "\n")
    return base


def test_ljspeech_splits_by_chapter(tmp_path):
    dirs = prepare_ljspeech(_ljspeech(tmp_path), tmp_path / "data")
    assert list(read_scp(dirs["test"] / "wav.scp")) == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert list(read_scp(dirs["dev"] / "wav.scp")) == ["LJ002-0001", "LJ002-0002"]
    assert len(read_scp(dirs["train"] / "wav.scp")) == 6
    assert set(read_scp(dirs["train"] / "utt2spk").values()) == {"LJ"}
    assert read_scp(dirs["test"] / "text")["LJ001-0002"] == "Printing, in the only sense 2."


def test_ljspeech_errors(tmp_path):
    base = _ljspeech(tmp_path)
    (base / "wavs" / "LJ003-0002.wav").unlink()
    with pytest.raises(CorpusError, match="LJ003-0002.wav not found"):
        prepare_ljspeech(base, tmp_path / "d")
    with pytest.raises(CorpusError, match="folder 'wavs' not found"):
        prepare_ljspeech(tmp_path / "nowhere", tmp_path / "d")


def _vctk(root: Path, n_spk: int = 6) -> Path:
    base = root / "VCTK-Corpus-0.92"
    spks = [f"p{225 + i}" for i in range(n_spk)] + ["s5"]
    for i, spk in enumerate(spks):
        for k in range(1, 5):
            utt = f"{spk}_{k:03d}"
            # utterance 001 is the shared passage every speaker reads; the rest are the speaker's own
            text = "Please call Stella." if k == 1 else f"Sentence {k} of speaker {i}."
            if spk != "p226":  # like p315, one speaker has audio but no transcripts
                (base / "txt" / spk).mkdir(parents=True, exist_ok=True)
                (base / "txt" / spk / f"{utt}.txt").write_text(text + "\n")
            _audio(base / "wav48_silence_trimmed" / spk / f"{utt}_mic1.flac", 48000)
            _audio(base / "wav48_silence_trimmed" / spk / f"{utt}_mic2.flac", 48000)
    (base / "speaker-info.txt").write_text("ID  AGE  GENDER  ACCENTS  REGION COMMENTS\n")
    return base


def test_vctk_holds_out_speakers_and_their_sentences(tmp_path):
    dirs = prepare_vctk(_vctk(tmp_path), tmp_path / "data", n_test_speakers=2, n_dev_speakers=1)
    spk = {name: set(read_scp(d / "spk2utt")) for name, d in dirs.items()}
    assert spk["test"] == {"p230", "s5"} and spk["dev"] == {"p229"}
    assert spk["train"] == {"p225", "p226", "p227", "p228"}
    train_text = read_scp(dirs["train"] / "text")
    test_text = set(read_scp(dirs["test"] / "text").values())
    assert "Please call Stella." in test_text
    assert "Please call Stella." not in train_text.values()  # the shared passage left train
    assert "p225_001" not in train_text and "p225_002" in train_text
    assert "p226_001" in read_scp(dirs["train"] / "wav.scp")  # no transcript: nothing to compare, kept
    wav = read_scp(dirs["test"] / "wav.scp")
    assert wav["s5_003"].endswith("wav48_silence_trimmed/s5/s5_003_mic1.flac")
    mic2 = prepare_vctk(_vctk(tmp_path), tmp_path / "d2", mic="mic2", n_test_speakers=2, n_dev_speakers=1)
    assert read_scp(mic2["test"] / "wav.scp")["s5_003"].endswith("s5_003_mic2.flac")


def test_vctk_errors(tmp_path):
    base = _vctk(tmp_path, n_spk=3)
    with pytest.raises(CorpusError, match="has 4 speakers, too few"):
        prepare_vctk(base, tmp_path / "d")
    with pytest.raises(CorpusError, match="'mic1' or 'mic2'"):
        prepare_vctk(base, tmp_path / "d", mic="mic3", n_test_speakers=1, n_dev_speakers=1)
    shutil.rmtree(base / "txt")
    with pytest.raises(CorpusError, match="folder 'txt' not found"):
        prepare_vctk(base, tmp_path / "d", n_test_speakers=1, n_dev_speakers=1)


def test_cli_prepare_and_subset(tmp_path, capsys):
    _ljspeech(tmp_path)
    assert (
        main(
            ["corpus", "prepare", "ljspeech", "--src", str(tmp_path / "LJSpeech-1.1"), "--out", str(tmp_path / "data")]
        )
        == 0
    )
    assert "train: 6 utterances" in capsys.readouterr().out
    assert main(["corpus", "subset", str(tmp_path / "data/train"), str(tmp_path / "data/sub"), "--n", "3"]) == 0
    assert list(read_scp(tmp_path / "data/sub/wav.scp")) == ["LJ003-0001", "LJ003-0003", "LJ050-0001"]
    assert main(["corpus", "prepare", "vctk", "--src", str(tmp_path / "none"), "--out", str(tmp_path / "x")]) == 2
    assert "codeckit corpus: error: VCTK folder 'wav48_silence_trimmed' not found" in capsys.readouterr().err
