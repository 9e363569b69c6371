"""Training data: wav.scp parsing, crops, resampling, determinism, sharding, bad files."""

import numpy as np
import pytest
import soundfile as sf
import torch

from codeckit.errors import ConfigError
from codeckit.train.data import CropDataset, DataError, EpochSampler, collate, make_loader, read_wav_scp


def test_read_wav_scp(tmp_path):
    scp = tmp_path / "wav.scp"
    scp.write_text("# comment\na /x/a.wav\n\nb  /x/b b.wav\n")
    assert read_wav_scp(scp) == [("a", "/x/a.wav"), ("b", "/x/b b.wav")]
    scp.write_text("lonely\n")
    with pytest.raises(ConfigError, match=r"wav.scp:1: expected 'utt-id path'"):
        read_wav_scp(scp)
    scp.write_text("")
    with pytest.raises(DataError, match="no entries"):
        read_wav_scp(scp)
    with pytest.raises(ConfigError, match="not found"):
        read_wav_scp(tmp_path / "missing.scp")


def test_crops_resampled_mono_deterministic(tmp_path, corpus):
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.random.default_rng(0).uniform(-0.5, 0.5, (44100, 2)).astype(np.float32), 44100)
    short = tmp_path / "short.wav"
    sf.write(short, np.full(100, 0.5, np.float32), 16000)
    entries = read_wav_scp(corpus) + [("stereo", str(stereo)), ("short", str(short))]
    ds = CropDataset(entries, sample_rate=16000, segment=3000, channels=1, seed=7)
    for idx in (0, 1, len(entries) - 2, len(entries) - 1):  # 16 kHz, 22.05 kHz, stereo 44.1 kHz, short
        audio, uid, bad = ds[(0, idx)]
        assert audio.shape == (1, 3000) and audio.dtype == torch.float32 and bad == []
        assert uid == entries[idx][0]
    audio, _, _ = ds[(0, len(entries) - 1)]
    assert torch.all(audio[0, 100:] == 0) and torch.allclose(audio[0, :100], torch.tensor(0.5))
    a, b, c = ds[(3, 5)][0], ds[(3, 5)][0], ds[(4, 5)][0]
    assert torch.equal(a, b) and not torch.equal(a, c)  # same (epoch, index): same crop; next epoch: another


def test_bad_file_is_reported_and_replaced(tmp_path, corpus):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really a wav file")
    entries = [("broken", str(broken)), ("missing", str(tmp_path / "gone.wav"))] + read_wav_scp(corpus)
    ds = CropDataset(entries, 16000, 1000, 1, seed=0)
    batch = collate([ds[(0, 0)], ds[(0, 1)], ds[(0, 5)]])
    assert batch.audio.shape == (3, 1, 1000)
    bad_paths = [p for p, _ in batch.bad]
    assert str(broken) in bad_paths and str(tmp_path / "gone.wav") in bad_paths
    assert all(reason for _, reason in batch.bad)


def test_sampler_shards_and_resumes():
    s0 = EpochSampler(20, batch_size=3, seed=1, rank=0, world_size=2)
    s1 = EpochSampler(20, batch_size=3, seed=1, rank=1, world_size=2)
    for s in (s0, s1):
        s.set_epoch(2)
    i0, i1 = [i for _, i in s0], [i for _, i in s1]
    assert len(i0) == len(i1) == 9 and not set(i0) & set(i1)  # 10 each, 3 full batches of 3
    s0.set_epoch(2, start_batch=2)
    assert [i for _, i in s0] == i0[6:] and len(s0) == 3
    s0.set_epoch(3)
    assert [i for _, i in s0] != i0
    assert all(e == 3 for e, _ in s0)


def test_loader_same_batches_with_workers(corpus):
    def first_batches(workers):
        loader, sampler = make_loader(str(corpus), 16000, 2000, 1, 4, workers, seed=3)
        sampler.set_epoch(1)
        return [b.audio for b in loader]

    a, b = first_batches(0), first_batches(2)
    assert len(a) == 4 and all(torch.equal(x, y) for x, y in zip(a, b))


def test_loader_needs_a_full_batch(corpus):
    with pytest.raises(DataError, match="no full batch"):
        make_loader(str(corpus), 16000, 2000, 1, batch_size=64, num_workers=0, seed=0)
