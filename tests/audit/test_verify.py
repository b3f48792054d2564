import pytest
import torch
from torch import nn

from robusthep.audit import verify
from robusthep.errors import ConfigError, DataError
from robusthep.nn import MonotonicWrapper, lipschitz_mlp


class Bump(nn.Module):
    """Increasing everywhere except a narrow dip near x₀ = 1: random pairs can miss it."""

    def forward(self, x):
        return x[:, :1] - 1.5 * torch.exp(-((x[:, :1] - 1.0) ** 2) / 0.01)


def test_finds_a_hidden_monotonicity_violation():
    report = verify(Bump(), torch.rand(100, 2) * 4 - 2, increasing=[0], lipschitz=1.0)
    assert report.monotonic_violations["0"] > 0
    assert report.worst_monotonic_step["0"] > 0.1
    assert report.lipschitz_violations > 0
    assert report.max_lipschitz_ratio > 5


def test_callables_without_gradients_are_searched_too():
    report = verify(
        lambda x: Bump()(x), torch.rand(100, 2) * 4 - 2, increasing=["a"], feature_names=["a", "b"]
    )
    assert report.searches[-1] == "local"
    assert report.monotonic_violations["a"] > 0


def test_a_true_claim_has_zero_violations_and_a_ratio_near_the_bound():
    model = nn.Sequential(nn.Linear(3, 1)).requires_grad_(False)
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[2.0, -1.0, 0.5]]))
    report = verify(model, torch.randn(200, 3), increasing=[0], decreasing=[1])
    assert report.violations == 0
    assert report.lipschitz_claimed == pytest.approx(2.0)  # ℓ1 input: the largest |wᵢ|
    assert 1.5 < report.max_lipschitz_ratio <= 2.0 + 1e-4


def test_wrapper_claims_are_taken_from_the_model():
    g = MonotonicWrapper(lipschitz_mlp(3, hidden=(8,)), increasing=[2], decreasing=[0])
    report = verify(g, torch.randn(100, 3), pairs=128, steps=3)
    assert report.monotonic_features == {"0": -1, "2": 1}
    assert report.to_dict()["violations"] == 0


def test_bad_inputs():
    model = nn.Linear(2, 1)
    x = torch.randn(10, 2)
    x[3, 1] = float("nan")
    x[5, 0] = float("inf")
    with pytest.raises(DataError, match="2 NaN or infinite values in 2 rows"):
        verify(model, x)
    with pytest.raises(DataError, match="shape"):
        verify(model, torch.randn(10))
    with pytest.raises(ConfigError, match="pairs"):
        verify(model, torch.randn(10, 2), pairs=1)
    with pytest.raises(ConfigError, match="claimed lipschitz"):
        verify(model, torch.randn(10, 2), lipschitz=-1.0)
