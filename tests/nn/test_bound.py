import math

import pytest
import torch
from torch import nn

from robusthep.errors import ConfigError
from robusthep.nn import GroupSort, LipschitzLinear, lipschitz_bound, lipschitz_mlp
from robusthep.nn.norms import conversion_factor, operator_norm


def test_paper_recipe_gives_the_product_of_layer_constants():
    net = nn.Sequential(
        LipschitzLinear(3, 8, kind="one-inf", lipschitz=2.0),
        GroupSort(2),
        LipschitzLinear(8, 8, kind="inf", lipschitz=3.0),
        GroupSort(2),
        LipschitzLinear(8, 1, kind="inf", lipschitz=0.5),
    )
    assert lipschitz_bound(net, input_norm="one") == pytest.approx(3.0)
    # an ℓ∞ input needs a conversion ‖x‖₁ ≤ n‖x‖∞ at the first layer
    assert lipschitz_bound(net, input_norm="inf") == pytest.approx(9.0)


def test_mismatched_norms_are_converted_soundly():
    net = nn.Sequential(LipschitzLinear(4, 4, kind="inf"), LipschitzLinear(4, 1, kind="one"))
    assert lipschitz_bound(net, input_norm="inf") == pytest.approx(4.0)


def test_plain_linear_uses_its_weights_and_elementwise_activations_their_constants():
    layer = nn.Linear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
    net = nn.Sequential(layer, nn.Sigmoid()).requires_grad_(False)
    assert lipschitz_bound(net, input_norm="inf") == pytest.approx(0.25 * 3.5)
    assert lipschitz_bound(net, input_norm="one") == pytest.approx(0.25 * 3.0)


def test_exact_operator_norms_match_brute_force_on_vertices():
    torch.manual_seed(3)
    w = torch.randn(3, 4, dtype=torch.float64)
    signs = (
        torch.tensor([[(i >> k) & 1 for k in range(4)] for i in range(16)], dtype=torch.float64) * 2
        - 1
    )
    brute_inf_inf = (signs @ w.T).abs().max()
    basis = torch.eye(4, dtype=torch.float64)
    brute_one_one = (basis @ w.T).abs().sum(dim=1).max()
    assert float(operator_norm(w, "inf", "inf")) == pytest.approx(float(brute_inf_inf))
    assert float(operator_norm(w, "one", "one")) == pytest.approx(float(brute_one_one))
    assert float(operator_norm(w, "inf", "one")) >= float((signs @ w.T).abs().sum(dim=1).max())


def test_conversion_factors():
    assert conversion_factor("inf", "two", 9) == pytest.approx(3.0)
    assert conversion_factor("two", "one", 4) == pytest.approx(2.0)
    assert conversion_factor("two", "inf", 4) == 1.0


def test_builder_validates_its_arguments():
    with pytest.raises(ConfigError, match="not divisible by group_size=4"):
        lipschitz_mlp(3, hidden=(8, 6), group_size=4)
    with pytest.raises(ConfigError, match="lipschitz must be"):
        lipschitz_mlp(3, lipschitz=-1.0)
    with pytest.raises(ConfigError, match="unknown input_norm"):
        lipschitz_mlp(3, input_norm="l7")
    with pytest.raises(ConfigError, match="unknown norm"):
        lipschitz_bound(lipschitz_mlp(3), input_norm="l7")


def test_bound_is_finite_for_every_builder_recipe():
    for norm in ("one", "inf", "two"):
        assert math.isfinite(lipschitz_mlp(5, input_norm=norm).lipschitz_bound())
