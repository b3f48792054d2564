import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses import mode_loss

CONFIGS = [
    {"order": 0},
    {"order": 1},
    {"order": 2},
    {"order": 1, "max_slope": 0.5},
    {"order": 2, "monotonic": True},
    {"order": 2, "monotonic": True, "max_slope": 0.5},
]


def _jets(n=3000, seed=0):
    generator = torch.Generator().manual_seed(seed)
    mass = torch.rand(n, generator=generator, dtype=torch.float64) * 250 + 50
    labels = (torch.rand(n, generator=generator) < 0.3).double()
    noise = torch.randn(n, generator=generator, dtype=torch.float64)
    scores = torch.sigmoid(3 * (mass - 150) / 100 + noise)
    return scores, mass, labels


@pytest.mark.parametrize(
    "config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items())
)
def test_agrees_with_modeloss(config):
    modeloss = pytest.importorskip("modeloss.pytorch")
    scores, mass, labels = _jets()
    theirs_in = scores.clone().requires_grad_()
    ours_in = scores.clone().requires_grad_()
    # eps → 0: modeloss's hand-written gradients of the tanh terms drop factors 1 + O(eps/a)
    config = {**config, "eps": 1e-12}
    theirs = modeloss.MoDeLoss(bins=32, sbins=32, **config)(theirs_in, labels, mass)
    ours = mode_loss(ours_in, mass, labels, bins=32, sbins=32, **config)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)
    (expected,) = torch.autograd.grad(theirs, theirs_in)
    (got,) = torch.autograd.grad(ours, ours_in)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-9 * expected.abs().max())


def test_agrees_with_modeloss_with_weights_constant_per_mass_bin():
    modeloss = pytest.importorskip("modeloss.pytorch")
    scores, mass, _ = _jets(n=1024)
    rank = torch.argsort(torch.argsort(mass))
    weights = (1 + (rank // 32) % 3).double()
    weights = weights / weights.mean()  # modeloss does not normalise them; we do
    theirs = modeloss.MoDeLoss(order=1)(scores, torch.zeros(1024), mass, weights)
    ours = mode_loss(scores, mass, None, 7 * weights, order=1)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12)


def test_gradient_is_that_of_the_exact_integral_with_weights():
    # modeloss scales a score's whole gradient by its own bin's weight; ours follows the loss
    scores, mass, _ = _jets(n=256, seed=1)
    rank = torch.argsort(torch.argsort(mass))
    weights = (1 + (rank // 32) % 3).double()
    scores.requires_grad_()
    (gradient,) = torch.autograd.grad(
        mode_loss(scores, mass, None, weights, order=1, max_slope=0.5, bins=8), scores
    )
    step, index = 2e-3, 7
    shift = torch.zeros_like(scores)
    shift[index] = step

    def fine(values):  # the s-integral nearly exact
        return mode_loss(values, mass, None, weights, order=1, max_slope=0.5, bins=8, sbins=10**5)

    numeric = (fine(scores.detach() + shift) - fine(scores.detach() - shift)) / (2 * step)
    assert gradient[index].item() == pytest.approx(numeric.item(), rel=0.05)


def test_known_answers():
    generator = torch.Generator().manual_seed(0)
    mass = torch.rand(4096, generator=generator, dtype=torch.float64)
    independent = torch.rand(4096, generator=generator, dtype=torch.float64)
    assert mode_loss(independent, mass).item() < 0.002  # the floor of 128 events a bin
    assert mode_loss(mass, mass).item() > 0.1  # the score is the mass
    # a linear dependence of the efficiency on mass costs order 0, not order 1
    linear = (independent < 0.3 + 0.4 * mass).double() * 0.5 + 0.25
    assert mode_loss(linear, mass, order=0).item() > 10 * mode_loss(linear, mass, order=1).item()


def test_signal_is_ignored():
    scores, mass, labels = _jets(n=640)
    moved = torch.where(labels == 1, 1 - scores, scores)
    assert mode_loss(moved, mass, labels).item() == mode_loss(scores, mass, labels).item()


def test_bad_input():
    scores, mass, labels = _jets(n=100)
    with pytest.raises(ConfigError, match="order"):
        mode_loss(scores, mass, order=3)
    with pytest.raises(DataError, match="at least bins=32"):
        mode_loss(scores[:20], mass[:20])
    with pytest.raises(DataError, match="NaN"):
        mode_loss(scores, torch.where(mass > 200, float("nan"), mass))
    with pytest.raises(DataError, match="sigmoid"):
        mode_loss(scores * 3 - 1, mass)
    with pytest.raises(DataError, match="constant"):
        mode_loss(scores, torch.ones(100))
    with pytest.raises(DataError, match="no background"):
        mode_loss(scores, mass, torch.ones(100))
    with pytest.raises(DataError, match="all 100 weights are zero"):
        mode_loss(scores, mass, None, torch.zeros(100))
