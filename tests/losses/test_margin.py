import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.losses import certified_radius, lipschitz_margin_loss


def test_hinge_is_zero_beyond_the_margin_and_linear_inside():
    scores = torch.tensor([2.0, 0.5, -0.5, -2.0])
    labels = torch.tensor([1, 1, 0, 0])
    assert lipschitz_margin_loss(scores, labels, margin=1.0) == pytest.approx(0.25)
    assert lipschitz_margin_loss(scores, labels * 2 - 1, margin=0.4) == pytest.approx(0.0)


def test_weights_average():
    scores, labels = torch.tensor([0.0, 5.0]), torch.tensor([1, 1])
    loss = lipschitz_margin_loss(scores, labels, margin=1.0, weights=torch.tensor([3.0, 1.0]))
    assert loss == pytest.approx(0.75)


def test_certified_radius_cannot_be_crossed_by_a_lipschitz_model():
    torch.manual_seed(0)
    w = torch.tensor([0.6, -0.8])  # a 1-Lipschitz linear score in ℓ2
    x = torch.randn(100, 2)
    radius = certified_radius(x @ w, lipschitz=1.0)
    moved = x - 0.999 * radius[:, None] * torch.sign(x @ w)[:, None] * w
    assert (torch.sign(moved @ w) == torch.sign(x @ w)).all()


def test_bad_arguments():
    with pytest.raises(DataError, match="0/1"):
        lipschitz_margin_loss(torch.zeros(2), torch.tensor([0, 2]), margin=1.0)
    with pytest.raises(ConfigError, match="margin"):
        lipschitz_margin_loss(torch.zeros(2), torch.tensor([0, 1]), margin=0.0)
    with pytest.raises(DataError, match="weights"):
        lipschitz_margin_loss(torch.zeros(2), torch.tensor([0, 1]), margin=1, weights=torch.ones(3))
    with pytest.raises(ConfigError, match="lipschitz"):
        certified_radius(torch.zeros(2), lipschitz=0.0)
