import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.errors import ConfigError, DataError
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


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 12),
    steps=st.integers(1, 30),
    batch_size=st.integers(1, 8),
    lr=st.floats(1e-3, 10.0),
    seed=st.integers(0, 10_000),
)
def test_semi_dual_bound_lies_between_the_c_transform_and_the_exact_emd(
    n, m, steps, batch_size, lr, seed
):
    rng = np.random.default_rng(seed)
    p, q = rng.normal(size=(n, 2)), rng.normal(0.5, 1.0, size=(m, 2))
    a, b = rng.exponential(size=n), rng.exponential(size=m)
    critic = lipschitz_critic(torch.tensor(np.concatenate([p, q])), hidden=(8, 8), seed=seed)
    transformed = c_transform_bound(critic, p, a, q, b, chunk=5)
    ascended = c_transform_bound(
        critic, p, a, q, b, chunk=5, steps=steps, batch_size=batch_size, lr=lr, seed=seed
    )
    exact = exact_emd(p, q, p_weights=a, q_weights=b)
    assert transformed <= ascended <= exact + 1e-9


def test_semi_dual_steps_close_most_of_the_particle_level_gap():
    rng = np.random.default_rng(2)
    p, q = rng.normal(size=(150, 2)), rng.normal(0.3, 1.2, size=(150, 2))
    a, b = rng.exponential(size=150), rng.exponential(size=150)
    plain = emd(p, q, p_weights=a, q_weights=b, steps=40, hidden=(8, 8), refine=True)
    ascended = emd(p, q, p_weights=a, q_weights=b, steps=40, hidden=(8, 8), refine_steps=200)
    exact = exact_emd(p, q, p_weights=a, q_weights=b)
    assert ascended.critic_value == pytest.approx(plain.critic_value)
    assert plain.value <= ascended.value <= exact + 1e-9
    assert exact - ascended.value < 0.5 * (exact - plain.value)


def test_semi_dual_rejects_bad_settings():
    critic = torch.nn.Linear(2, 1)
    cloud = (np.zeros((2, 2)), np.ones(2), np.ones((2, 2)), np.ones(2))
    for settings_ in ({"steps": -1}, {"batch_size": 0}, {"lr": 0.0}, {"chunk": 0}):
        with pytest.raises(ConfigError, match=next(iter(settings_))):
            c_transform_bound(critic, *cloud, **settings_)


def test_refine_rejects_bad_clouds():
    critic = torch.nn.Linear(2, 1)
    with pytest.raises(DataError, match="empty"):
        c_transform_bound(critic, np.zeros((0, 2)), np.zeros(0), np.zeros((1, 2)), np.ones(1))
    with pytest.raises(DataError, match="negative"):
        c_transform_bound(critic, np.zeros((1, 2)), -np.ones(1), np.zeros((1, 2)), np.ones(1))
