"""The Particle Flow Network: permutation invariance, masking, and its Lipschitz bound."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.errors import ConfigError, ConstraintError, DataError
from robusthep.nn.pfn import ParticleFlowNetwork

VARIANTS = [None, (2.0, 3.0)]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is the fastest
    yield
    torch.set_num_threads(threads)


def _network(lipschitz, seed=0, features=3):
    torch.manual_seed(seed)
    return ParticleFlowNetwork(
        features,
        latent=8,
        phi_hidden=(16,),
        head_hidden=(16,),
        lipschitz=lipschitz,
        pool_scale=0.1,
        mean=torch.randn(features),
        scale=torch.rand(features) + 0.5,
    )


@pytest.mark.parametrize("lipschitz", VARIANTS)
@given(seed=st.integers(0, 10_000), jets=st.integers(1, 6), length=st.integers(1, 12))
def test_output_is_invariant_under_any_permutation_of_the_constituents(
    lipschitz, seed, jets, length
):
    generator = torch.Generator().manual_seed(seed)
    net = _network(lipschitz, seed)
    x = torch.randn(jets, length, 3, generator=generator)
    mask = torch.rand(jets, length, generator=generator) > 0.3
    permutation = torch.randperm(length, generator=generator)
    expected = net(x, mask)
    assert torch.allclose(net(x[:, permutation], mask[:, permutation]), expected, atol=1e-5)


@pytest.mark.parametrize("lipschitz", VARIANTS)
def test_padded_slots_are_ignored_even_when_they_hold_nan(lipschitz):
    net = _network(lipschitz)
    x = torch.randn(4, 6, 3)
    mask = torch.tensor([[True] * 3 + [False] * 3] * 4)
    padded = x.clone()
    padded[:, 3:] = float("nan")
    assert torch.equal(net(padded, mask), net(x, mask))
    assert torch.allclose(net(x[:, :3], mask[:, :3]), net(x, mask), atol=1e-6)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000))
def test_random_perturbations_never_exceed_the_per_jet_bound(seed):
    generator = torch.Generator().manual_seed(seed)
    net = _network((1.5, 2.0), seed)
    x = torch.randn(8, 10, 3, generator=generator)
    mask = torch.rand(8, 10, generator=generator) > 0.4
    widths = torch.tensor([0.1, 0.0, 0.3])
    bound = net.lipschitz_bound(mask, widths)
    for _ in range(5):
        units = torch.rand(x.shape, generator=generator) * 2 - 1
        moved = x + units * widths
        change = (net(moved, mask) - net(x, mask)).reshape(-1).double().abs()
        assert bool((change <= bound * units.abs().max() + 1e-5).all())


def test_the_bound_grows_with_the_number_of_real_constituents():
    net = _network((1.0, 1.0))
    mask = torch.tensor([[True, False, False], [True, True, True]])
    bound = net.lipschitz_bound(mask)
    assert bound[1] == pytest.approx(3 * bound[0])


def test_a_plain_network_has_no_bound():
    with pytest.raises(ConstraintError, match="no Lipschitz bound"):
        _network(None).lipschitz_bound(torch.ones(1, 3, dtype=torch.bool))


def test_bad_shapes_and_settings_are_refused():
    net = _network(None)
    with pytest.raises(DataError, match="x must have shape"):
        net(torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool))
    with pytest.raises(DataError, match="mask must have shape"):
        net(torch.randn(2, 3, 3), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ConfigError, match="pool_scale"):
        ParticleFlowNetwork(3, pool_scale=0.0)
    with pytest.raises(ConfigError, match="pair"):
        ParticleFlowNetwork(3, lipschitz=(1.0,))
