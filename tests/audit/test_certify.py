"""Certificates: no attack within the budget ever moves a Lipschitz tagger further than its
certified bound, and models without a bound get no certificate."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from robusthep.audit.attacks import fgsm, pgd
from robusthep.audit.budget import Budget
from robusthep.audit.certify import budget_lipschitz, certify
from robusthep.errors import ConstraintError, DataError
from robusthep.nn import Standardize, lipschitz_mlp
from robusthep.nn.pfn import ParticleFlowNetwork

pytestmark = pytest.mark.usefixtures("one_thread")


def _pfn(seed, exp_features):
    torch.manual_seed(seed)
    width = 3 + len(exp_features)
    return ParticleFlowNetwork(
        3,
        latent=8,
        phi_hidden=(16,),
        head_hidden=(16,),
        lipschitz=(1.0 + seed % 3, 2.0),
        pool_scale=0.2,
        exp_features=exp_features,
        mean=torch.randn(width),
        scale=torch.rand(width) + 0.05,
    ).eval()


def _hl(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        Standardize(torch.randn(5), torch.rand(5) + 0.05),
        lipschitz_mlp(5, hidden=(16, 16), lipschitz=5.0, input_norm="inf"),
    ).eval()


def _shift(model, moved, x, mask):
    with torch.no_grad():
        if mask is None:
            return (model(moved) - model(x)).reshape(-1).double().abs()
        return (model(moved, mask) - model(x, mask)).reshape(-1).double().abs()


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000), exp=st.booleans(), signed=st.booleans())
def test_attacks_on_a_lipschitz_pfn_never_exceed_the_certified_bound(seed, exp, signed):
    generator = torch.Generator().manual_seed(seed)
    model = _pfn(seed, (0,) if exp else ())
    x = torch.randn(10, 6, 3, generator=generator)
    mask = torch.rand(10, 6, generator=generator) > 0.3
    mask[:, 0] = True
    budget = Budget.constituents(0.1, 0.05, 0.2)
    labels = (torch.arange(10) % 2).float() if signed else None
    bound = budget_lipschitz(model, budget, mask, x)
    for attack in (fgsm, pgd):
        moved = attack(model, x, budget, labels=labels, mask=mask)
        assert bool((_shift(model, moved, x, mask) <= bound * (1 + 1e-5) + 1e-6).all())


@settings(max_examples=12)
@given(seed=st.integers(0, 10_000))
def test_attacks_on_a_lipschitz_hl_net_never_exceed_the_certified_bound(seed):
    generator = torch.Generator().manual_seed(seed)
    model = _hl(seed)
    x = torch.randn(32, 5, generator=generator)
    budget = Budget.jets(0.2, 0.3)
    bound = budget_lipschitz(model, budget)
    for attack in (fgsm, pgd):
        moved = attack(model, x, budget)
        assert bool((_shift(model, moved, x, None) <= bound * (1 + 1e-5) + 1e-6).all())


def test_certified_jets_are_never_flipped_by_pgd():
    generator = torch.Generator().manual_seed(0)
    model = _pfn(4, (0,))
    x = torch.randn(200, 6, 3, generator=generator)
    mask = torch.rand(200, 6, generator=generator) > 0.3
    mask[:, 0] = True
    budget = Budget.constituents(0.01, 0.01, 0.01)
    with torch.no_grad():
        threshold = float(model(x, mask).median())
    result = certify(model, x, budget, threshold=threshold, mask=mask)
    assert 0 < result.fraction < 1
    labels = (result.logits > threshold).float()  # push every jet across the threshold
    moved = pgd(model, x, budget, labels=labels, mask=mask, steps=20)
    with torch.no_grad():
        flipped = (model(moved, mask).reshape(-1).double() > threshold) != (labels > 0.5)
    assert not bool((flipped & result.certified).any())
    assert torch.allclose(result.radii, (result.logits - threshold).abs() / result.bounds)


def test_no_certificate_without_a_lipschitz_bound():
    budget = Budget.jets()
    relu = nn.Sequential(
        Standardize(torch.zeros(5), torch.ones(5)), nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)
    )
    with pytest.raises(ConstraintError, match="no certified Lipschitz bound"):
        certify(relu, torch.randn(4, 5), budget)
    plain = ParticleFlowNetwork(3, latent=4, phi_hidden=(8,), head_hidden=(8,))
    with pytest.raises(ConstraintError, match="no Lipschitz bound"):
        certify(
            plain,
            torch.randn(2, 4, 3),
            Budget.constituents(),
            mask=torch.ones(2, 4, dtype=torch.bool),
        )


def test_a_set_model_needs_its_mask_and_jets():
    model = _pfn(0, (0,))
    with pytest.raises(DataError, match="mask"):
        budget_lipschitz(model, Budget.constituents())
    with pytest.raises(DataError, match="pass x"):
        budget_lipschitz(model, Budget.constituents(), torch.ones(2, 4, dtype=torch.bool))
