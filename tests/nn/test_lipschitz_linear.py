import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from robusthep.errors import ConfigError
from robusthep.nn import KINDS, LipschitzLinear, operator_norm, spectral_norm_bound


def exact_norm(weight, kind):
    w = weight.detach().double()
    if kind == "two":
        return float(torch.linalg.matrix_norm(w, ord=2))
    source, target = KINDS[kind]
    return float(operator_norm(w, source, target))


@given(
    kind=st.sampled_from(sorted(KINDS)),
    per_vector=st.booleans(),
    n_in=st.integers(1, 24),
    n_out=st.integers(1, 24),
    lipschitz=st.floats(0.05, 20.0),
    weight_scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_normalised_weight_respects_the_bound_for_any_stored_weight(
    kind, per_vector, n_in, n_out, lipschitz, weight_scale, seed
):
    if kind == "two":
        per_vector = False
    torch.manual_seed(seed)
    layer = LipschitzLinear(n_in, n_out, kind=kind, lipschitz=lipschitz, per_vector=per_vector)
    with torch.no_grad():
        layer.weight.mul_(weight_scale)
    for mode in (True, False):
        layer.train(mode)
        assert exact_norm(layer.normalized_weight(), kind) <= lipschitz * (1 + 1e-5)


def test_per_column_normalisation_leaves_small_columns_untouched():
    layer = LipschitzLinear(2, 2, kind="one", lipschitz=1.0)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.2, 3.0], [0.3, -1.0]]))
    w = layer.normalized_weight().detach()
    assert torch.allclose(w[:, 0], torch.tensor([0.2, 0.3]))
    assert torch.allclose(w[:, 1], torch.tensor([0.75, -0.25]))


def test_whole_matrix_normalisation_scales_every_entry():
    layer = LipschitzLinear(2, 2, kind="one", lipschitz=1.0, per_vector=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.2, 3.0], [0.3, -1.0]]))
    assert torch.allclose(layer.normalized_weight().detach(), layer.weight.detach() / 4.0)


def test_gradients_flow_through_the_normalisation():
    for kind in KINDS:
        layer = LipschitzLinear(4, 3, kind=kind, lipschitz=0.01, per_vector=kind != "two")
        layer(torch.randn(8, 4)).sum().backward()
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0, kind


def test_eval_cache_follows_weight_changes():
    layer = LipschitzLinear(3, 2, kind="inf").eval()
    x = torch.randn(5, 3)
    with torch.no_grad():
        first = layer(x)
        assert layer.normalized_weight() is layer.normalized_weight()  # cached
        layer.weight.mul_(0.5)
        second = layer(x)
    assert not torch.allclose(first, second)
    layer.train()
    assert torch.allclose(layer(x), second)


@given(
    n_out=st.integers(1, 40),
    n_in=st.integers(1, 40),
    condition=st.floats(1.0, 1e4),
    seed=st.integers(0, 2**16),
)
def test_spectral_bound_is_certified_and_tight(n_out, n_in, condition, seed):
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(n_out, n_out, generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(n_in, n_in, generator=generator, dtype=torch.float64))
    k = min(n_in, n_out)
    singular = torch.logspace(
        0, -torch.log10(torch.tensor(condition)).item(), k, dtype=torch.float64
    )
    w = u[:, :k] @ torch.diag(singular) @ v[:, :k].T
    exact = torch.linalg.matrix_norm(w, ord=2)
    bound = spectral_norm_bound(w)
    assert exact <= bound
    assert bound <= exact * k ** (1 / 2**7) * (1 + 1e-8)


def test_spectral_bound_of_equal_singular_values_and_zero():
    eye = torch.eye(16, dtype=torch.float64)
    assert 1.0 <= float(spectral_norm_bound(eye)) <= 16 ** (1 / 128) * (1 + 1e-8)
    assert float(spectral_norm_bound(torch.zeros(3, 4))) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "two-one"}, "unknown norm kind"),
        ({"lipschitz": 0.0}, "lipschitz must be"),
        ({"lipschitz": -1.0}, "lipschitz must be"),
        ({"lipschitz": float("nan")}, "lipschitz must be"),
        ({"kind": "two", "per_vector": True}, "whole-matrix"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LipschitzLinear(3, 3, **kwargs)
