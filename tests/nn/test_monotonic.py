import pytest
import torch
from torch import nn

from robusthep.errors import ConfigError, ConstraintError
from robusthep.nn import LipschitzLinear, MonotonicWrapper, lipschitz_mlp, monotonic_signs

NAMES = ["pt", "eta", "lifetime", "chi2"]


def test_signs_from_names_and_indices():
    signs = monotonic_signs(4, increasing=["pt", 2], decreasing=["chi2"], feature_names=NAMES)
    assert signs == [1, 0, 1, -1]


def test_wrapper_takes_lambda_from_the_certified_bound():
    g = MonotonicWrapper(lipschitz_mlp(4, hidden=(8,), lipschitz=2.5), increasing=[0])
    assert g.lipschitz == pytest.approx(2.5)
    assert torch.allclose(g.linear_term, torch.tensor([2.5, 0, 0, 0]))


def test_wrapper_output_moves_with_the_linear_term():
    g = MonotonicWrapper(lipschitz_mlp(2, hidden=(4,)), increasing=[0], decreasing=[1])
    x = torch.zeros(1, 2)
    assert g(x + torch.tensor([[10.0, 0]])) > g(x) > g(x + torch.tensor([[0, 10.0]]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"increasing": ["mass"], "feature_names": NAMES}, "no feature named 'mass'"),
        ({"increasing": ["pt"]}, "no feature_names"),
        ({"increasing": ["pt", "pt"], "feature_names": NAMES}, "listed twice"),
        ({"increasing": ["pt"], "decreasing": [0], "feature_names": NAMES}, "listed twice"),
        ({"increasing": [7]}, "out of range"),
        ({}, "no monotonic feature"),
        ({"increasing": [0], "lipschitz": 0.0}, "lipschitz must be"),
        ({"increasing": [0], "lipschitz": -1.0}, "lipschitz must be"),
        ({"increasing": [0], "feature_names": ["a", "a", "b", "c"]}, "repeats"),
    ],
)
def test_bad_monotonic_specifications(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        MonotonicWrapper(lipschitz_mlp(4, hidden=(4,)), **kwargs)


def test_lambda_below_the_bound_is_refused_not_silently_broken():
    # The reference package's pitfall: per-layer constants whose product exceeds λ.
    net = nn.Sequential(
        LipschitzLinear(2, 4, kind="one-inf", lipschitz=2.0),
        LipschitzLinear(4, 1, kind="inf", lipschitz=2.0),
    )
    with pytest.raises(ConstraintError, match="below the certified bound 4"):
        MonotonicWrapper(net, increasing=[0], lipschitz=1.0)
    assert MonotonicWrapper(net, increasing=[0], lipschitz=5.0).lipschitz == 5.0


def test_unbounded_or_trainable_plain_layers_are_refused():
    with pytest.raises(ConstraintError, match="trainable plain nn.Linear"):
        MonotonicWrapper(nn.Sequential(nn.Linear(2, 1)), increasing=[0])
    with pytest.raises(ConstraintError, match="GELU"):
        MonotonicWrapper(nn.Sequential(LipschitzLinear(2, 2), nn.GELU()), increasing=[0])
