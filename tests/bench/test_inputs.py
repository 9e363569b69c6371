"""Codec SPECs and data lists: parsing, names, and errors that name the problem."""

from __future__ import annotations

import pytest

from codeckit.bench.data import list_items
from codeckit.bench.specs import SpecError, parse_spec, parse_specs
from codeckit.errors import AudioError


def test_spec_grammar(tmp_path):
    assert parse_spec("identity").kind == "identity"
    e = parse_spec("opus:6000")
    assert (e.name, e.kind, e.arg, e.key) == ("opus-6000", "opus", "6000", "opus:6000")
    e = parse_spec("low=codec2:700c")
    assert (e.name, e.kind, e.arg) == ("low", "codec2", "700C")
    with pytest.raises(SpecError, match="neither a model directory"):
        parse_spec(str(tmp_path / "missing"))
    with pytest.raises(SpecError, match="Opus bitrate"):
        parse_spec("opus:fast")
    with pytest.raises(SpecError, match="Opus bitrate must be"):
        parse_spec("opus:1000")
    with pytest.raises(SpecError, match="unknown Codec2 mode"):
        parse_spec("codec2:5000")
    with pytest.raises(SpecError, match="model.safetensors"):
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "config.yaml").write_text("model: {}\n")
        parse_spec(str(tmp_path / "m"))
    with pytest.raises(SpecError, match="set one with NAME=SPEC"):
        parse_specs(["identity", "identity"])
    assert [e.name for e in parse_specs(["identity", "ref=identity"])] == ["identity", "ref"]


def test_directory_and_wav_scp(speech_dir, tmp_path):
    items = list_items(speech_dir)
    assert [i.id for i in items] == ["utt0", "utt1"]
    scp = tmp_path / "wav.scp"
    scp.write_text(f"a {speech_dir / 'utt1.wav'}\nb/c {speech_dir / 'utt0.wav'}\n")
    items2 = list_items(scp)
    assert [i.id for i in items2] == ["a", "b_c"]
    assert items2[0].sha1 == items[1].sha1
    scp.write_text("a sox x.wav -t wav - |\n")
    with pytest.raises(AudioError, match="piped"):
        list_items(scp)
    scp.write_text(f"a {tmp_path / 'nope.wav'}\n")
    with pytest.raises(AudioError, match="not found"):
        list_items(scp)
    with pytest.raises(AudioError, match="no audio files"):
        list_items(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else None)
