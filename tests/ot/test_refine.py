import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.errors import DataError
from robusthep.ot import c_transform_bound, emd, exact_emd, lipschitz_critic
from robusthep.ot.emd import dual_objective


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_refined_bound_lies_between_the_critic_and_the_exact_emd(n, m, seed):
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n, 2)), rng.normal(0.5, 1.0, size=(m, 2))
    a, b = rng.exponential(size=n), rng.exponential(size=m)
    critic = lipschitz_critic(torch.tensor(np.concatenate([p, q])), hidden=(8, 8), seed=seed)
    a_t, b_t = torch.tensor(a / a.sum()), torch.tensor(b / b.sum())
    before = dual_objective(critic, torch.tensor(p), a_t, torch.tensor(q), b_t)
    refined = c_transform_bound(critic, p, a, q, b, chunk=5)
    exact = exact_emd(p, q, p_weights=a, q_weights=b)
    assert before - 1e-6 <= refined <= exact + 1e-9


def test_refine_tightens_the_emd_estimate_and_keeps_the_critic_value():
    rng = np.random.default_rng(1)
    p, q = rng.normal(size=(60, 2)), rng.normal(0.3, 1.2, size=(50, 2))
    result = emd(p, q, steps=100, hidden=(16, 16), refine=True)
    exact = exact_emd(p, q)
    assert result.critic_value <= result.value <= exact + 1e-9
    plain = emd(p, q, steps=100, hidden=(16, 16))
    assert plain.value == pytest.approx(result.critic_value)
    assert plain.critic_value == plain.value


def test_refine_rejects_bad_clouds():
    critic = torch.nn.Linear(2, 1)
    with pytest.raises(DataError, match="empty"):
        c_transform_bound(critic, np.zeros((0, 2)), np.zeros(0), np.zeros((1, 2)), np.ones(1))
    with pytest.raises(DataError, match="negative"):
        c_transform_bound(critic, np.zeros((1, 2)), -np.ones(1), np.zeros((1, 2)), np.ones(1))
