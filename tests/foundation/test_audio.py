"""Audio I/O: files and arrays to float32 (channels, samples), resampling, atomic writes, clear errors."""

import numpy as np
import pytest
import soundfile as sf
import torch

from codeckit.audio import as_audio, load, read_audio, resample, write_audio
from codeckit.errors import AudioError


def _tone(sr=16000, seconds=0.25, channels=1):
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([x * (c + 1) / channels for c in range(channels)]).astype(np.float32)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_read_formats(tmp_path, ext):
    x = _tone()
    path = tmp_path / f"a.{ext}"
    sf.write(path, x.T, 16000)
    audio, sr = read_audio(path)
    assert sr == 16000 and audio.dtype == torch.float32 and audio.shape[0] == 1
    if ext == "ogg":  # lossy: same length, similar content
        assert audio.shape[1] == x.shape[1]
        assert np.corrcoef(audio.numpy()[0], x[0])[0, 1] > 0.99
    else:
        np.testing.assert_allclose(audio.numpy(), x, atol=1e-4)


def test_mono_downmix_and_channel_selection(tmp_path):
    x = _tone(channels=2)
    path = tmp_path / "st.wav"
    sf.write(path, x.T, 16000, subtype="FLOAT")
    mono, _ = read_audio(path)
    np.testing.assert_allclose(mono.numpy()[0], x.mean(0), atol=1e-6)
    keep, _ = read_audio(path, channels="keep")
    assert keep.shape[0] == 2
    second, _ = read_audio(path, channels=1)
    np.testing.assert_allclose(second.numpy()[0], x[1], atol=1e-6)
    with pytest.raises(AudioError, match="channel 2 requested"):
        read_audio(path, channels=2)


def test_resampling_length_and_content():
    x = _tone(sr=16000, seconds=1.0)
    y = resample(x, 16000, 24000)
    assert y.shape == (1, 24000) and y.dtype == torch.float32
    # a 440 Hz tone stays a 440 Hz tone
    spectrum = np.abs(np.fft.rfft(y.numpy()[0]))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 s of audio: bin index is Hz
    audio, sr = as_audio(x, 16000, sample_rate=24000)
    assert sr == 24000 and audio.shape == (1, 24000)


def test_int16_array_scaled():
    x = (np.ones(100) * 16384).astype(np.int16)
    audio, sr = as_audio(x, 8000)
    assert sr == 8000 and audio.shape == (1, 100)
    np.testing.assert_allclose(audio.numpy(), 0.5)


def test_write_is_atomic_and_round_trips(tmp_path, monkeypatch):
    x = _tone()
    path = write_audio(tmp_path / "out" / "x.wav", x, 16000, subtype="FLOAT")
    back, sr = read_audio(path)
    np.testing.assert_array_equal(back.numpy(), x)
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sf, "write", boom)
    with pytest.raises(RuntimeError):
        write_audio(path, np.zeros(10, np.float32), 16000)
    # the old file is intact and no temporary is left behind
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]
    np.testing.assert_array_equal(read_audio(path)[0].numpy(), x)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(AudioError, match="not found: .*missing.wav"):
        read_audio(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="bad.wav.*unreadable or unsupported"):
        read_audio(bad)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: zero-length"):
        read_audio(empty)
    nan = tmp_path / "nan.wav"
    sf.write(nan, np.array([[0.0], [np.nan]], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: audio contains NaN or Inf"):
        read_audio(nan)
    with pytest.raises(AudioError, match="directory"):
        read_audio(tmp_path)


def test_array_errors():
    with pytest.raises(AudioError, match="unsupported dtype complex"):
        as_audio(np.zeros(10, np.complex64), 16000)
    with pytest.raises(AudioError, match=r"got \(1, 2, 3\)"):
        as_audio(np.zeros((1, 2, 3), np.float32), 16000)
    with pytest.raises(AudioError, match="looks like \\(samples, channels\\)"):
        as_audio(np.zeros((1000, 2), np.float32), 16000)
    with pytest.raises(AudioError, match="NaN or Inf"):
        as_audio(torch.tensor([0.0, float("inf")]), 16000)
    with pytest.raises(AudioError, match="sample rate must be a positive int"):
        as_audio(np.zeros(10, np.float32), 0)
    with pytest.raises(AudioError, match="needs its sample rate"):
        load(np.zeros(10, np.float32))
    with pytest.raises(AudioError, match=r"unsupported audio format '\.xyz'"):
        write_audio("/tmp/x.xyz", np.zeros(10, np.float32), 16000)
