"""`codeckit convert` dispatches on --from: snac and encodec sources end as loadable model directories."""

from __future__ import annotations

import pytest
import torch
from reference_packages import import_reference

from codeckit.cli import main
from codeckit.codecs import load_codec


def test_unknown_format_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--from", "wav", str(tmp_path), str(tmp_path / "out")])
    assert "invalid choice" in capsys.readouterr().err


def test_encodec_dispatch(tmp_path, capsys):
    assert main(["convert", "--from", "encodec", str(tmp_path / "missing.th"), str(tmp_path / "out")]) == 2
    assert "missing.th" in capsys.readouterr().err
    encodec = import_reference("encodec")
    torch.manual_seed(0)
    ref = encodec.EncodecModel.encodec_model_24khz(pretrained=False)
    torch.save(ref.state_dict(), tmp_path / "encodec_24khz.th")
    assert main(["convert", "--from", "encodec", str(tmp_path / "encodec_24khz.th"), str(tmp_path / "out")]) == 0
    codec = load_codec(tmp_path / "out")
    assert codec.sample_rate == 24000 and codec.hop_length == 320
