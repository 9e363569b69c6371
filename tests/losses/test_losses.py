"""Losses: mel filterbank parity with librosa, reconstruction, adversarial, feature matching, balancer."""

import auraloss
import pytest
import torch

from codeckit.losses import Balancer, FeatureMatchingLoss, mel_filterbank
from codeckit.registry import LOSSES

# librosa.filters.mel(sr=8000, n_fft=16, n_mels=4) (Slaney scale and norm), computed with librosa 0.11
LIBROSA_MEL_8K_16_4 = [
    [0.0, 0.001991172, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.00012631, 0.001698043, 6.7958e-05, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.000139767, 0.001261494, 0.000645341, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.0, 0.0, 0.0, 0.000408783, 0.000789078, 0.000526052, 0.000263026, 0.0],
]


def test_mel_filterbank_matches_librosa():
    fb = mel_filterbank(8000, 16, 4)
    torch.testing.assert_close(fb, torch.tensor(LIBROSA_MEL_8K_16_4), atol=1e-8, rtol=1e-5)


def test_mel_filterbank_shape_and_coverage():
    fb = mel_filterbank(24000, 1024, 80)
    assert fb.shape == (80, 513) and (fb >= 0).all()
    assert (fb.sum(1) > 0).all()  # no empty filter at this resolution
    peaks = fb.argmax(1)
    assert (peaks[1:] >= peaks[:-1]).all()  # filters ordered low to high


@pytest.mark.parametrize("name", ["l1", "mel", "mrstft", "complex_stft"])
def test_reconstruction_losses(name):
    torch.manual_seed(0)
    loss = LOSSES.build({"name": name}, sample_rate=16000)
    x = torch.randn(2, 1, 4096) * 0.3
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    est = (x + 0.1 * torch.randn_like(x)).requires_grad_(True)
    near = loss(est, x)
    far = loss(x + 0.5 * torch.randn_like(x), x)
    assert 0 < float(near.detach()) < float(far)
    near.backward()
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0


def test_mrstft_is_auraloss():
    torch.manual_seed(0)
    x, y = torch.randn(2, 1, 4096), torch.randn(2, 1, 4096)
    ours = LOSSES.build({"name": "mrstft", "fft_sizes": [512, 256], "hop_sizes": [128, 64], "win_lengths": [512, 256]})
    ref = auraloss.freq.MultiResolutionSTFTLoss([512, 256], [128, 64], [512, 256])
    torch.testing.assert_close(ours(x, y), ref(x, y))


def test_complex_stft_loss_sees_phase_where_mel_does_not():
    """A copy shifted by half a period has the target's magnitudes but not its phases: only complex_stft objects."""
    t = torch.arange(8192) / 16000
    x = (0.3 * torch.sin(2 * torch.pi * 500 * t))[None, None]
    flipped = -x  # same magnitude spectrum, every phase off by pi
    mel = LOSSES.build({"name": "mel", "n_mels": [40], "window_lengths": [512]}, sample_rate=16000)
    cplx = LOSSES.build({"name": "complex_stft", "window_lengths": [512], "alpha": 1.0}, sample_rate=16000)
    magnitude_only = LOSSES.build({"name": "complex_stft", "window_lengths": [512], "alpha": 0.0}, sample_rate=16000)
    assert float(mel(flipped, x)) == pytest.approx(0.0, abs=1e-5)
    assert float(magnitude_only(flipped, x)) == pytest.approx(0.0, abs=1e-5)
    silence = float(cplx(torch.zeros_like(x), x))  # each bin's error is |X|^c; flipped, it is 2 |X|^c
    assert float(cplx(flipped, x)) == pytest.approx(4 * silence, rel=1e-3) and silence > 0.01


def test_complex_stft_loss_silence_has_finite_gradient():
    est = torch.zeros(1, 1, 2048, requires_grad=True)
    loss = LOSSES.build({"name": "complex_stft"}, sample_rate=16000)(est, torch.zeros(1, 1, 2048))
    loss.backward()
    assert float(loss.detach()) == 0.0 and torch.isfinite(est.grad).all()


@pytest.mark.parametrize(
    "bad, match",
    [({"power": 0.0}, "power"), ({"alpha": 1.5}, "alpha"), ({"window_lengths": []}, "window_lengths")],
)
def test_complex_stft_loss_rejects_bad_options(bad, match):
    with pytest.raises(ValueError, match=match):
        LOSSES.build({"name": "complex_stft", **bad}, sample_rate=16000)


def test_mel_loss_rejects_unpaired_scales():
    with pytest.raises(ValueError, match="pair up"):
        LOSSES.build({"name": "mel", "n_mels": [5, 10], "window_lengths": [32]}, sample_rate=16000)


def _out(*logits):
    return [(torch.tensor(lg), [torch.tensor(lg)]) for lg in logits]


def test_hinge_values():
    hinge = LOSSES.build("hinge")
    real, fake = _out([2.0, 0.5]), _out([-2.0, 0.0])
    # D: mean(relu(1 - real)) + mean(relu(1 + fake)) = 0.25 + 0.5
    assert float(hinge.discriminator(real, fake)) == pytest.approx(0.75)
    # G: mean(relu(1 - fake)) = (3 + 1) / 2
    assert float(hinge.generator(fake)) == pytest.approx(2.0)


def test_lsgan_values_average_over_subdiscriminators():
    ls = LOSSES.build("lsgan")
    real, fake = _out([1.0], [0.0]), _out([0.0], [1.0])
    # per sub-discriminator: (1-r)^2 + f^2 -> 0 and 2; mean 1
    assert float(ls.discriminator(real, fake)) == pytest.approx(1.0)
    assert float(ls.generator(fake)) == pytest.approx(0.5)


@pytest.mark.parametrize("relative", [False, True])
def test_feature_matching(relative):
    fm = FeatureMatchingLoss(relative=relative)
    real = [(torch.zeros(1), [torch.ones(2, 3), torch.full((2, 4), 2.0)])]
    fake_feats = [torch.ones(2, 3, requires_grad=True), torch.zeros(2, 4, requires_grad=True)]
    fake = [(torch.zeros(1), fake_feats)]
    loss = fm(real, fake)
    assert float(loss.detach()) == pytest.approx((0 + 1.0) / 2 if relative else (0 + 2.0) / 2)
    loss.backward()
    assert fake_feats[1].grad.abs().sum() > 0
    assert float(fm(real, real)) == 0.0


def test_balancer_sets_gradient_shares_by_weight():
    out = torch.randn(4, 1, 64, requires_grad=True)
    a = torch.zeros(4, 1, 64)
    a[..., :32] = 1.0
    b = torch.zeros(4, 1, 64)
    b[..., 32:] = 1.0
    losses = {"big": 1000.0 * (out * a).sum(), "small": 0.001 * (out * b).sum()}
    bal = Balancer({"big": 1.0, "small": 3.0}, ema_decay=0.9)
    grad = bal.backward_grad(losses, out)
    share_big = grad[..., :32].flatten(1).norm(dim=1).mean()
    share_small = grad[..., 32:].flatten(1).norm(dim=1).mean()
    # raw gradient norms differ by 1e6; after balancing they follow the weights 1 : 3 and sum to total_norm
    assert float(share_small / share_big) == pytest.approx(3.0, rel=1e-4)
    assert float(share_big + share_small) == pytest.approx(1.0, rel=1e-4)
    state = bal.state_dict()
    bal2 = Balancer({"big": 1.0, "small": 3.0}, ema_decay=0.9)
    bal2.load_state_dict(state)
    assert bal2.norm_sum == bal.norm_sum


def test_balancer_rejects_unknown_loss():
    out = torch.randn(1, 1, 8, requires_grad=True)
    with pytest.raises(KeyError, match="other"):
        Balancer({"x": 1.0}).backward_grad({"other": out.sum()}, out)
