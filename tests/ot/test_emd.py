import math

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.nn import lipschitz_bound, lipschitz_mlp
from robusthep.ot import emd, exact_emd, lipschitz_critic

ot = pytest.importorskip("ot", reason="POT is the exact reference")


def _clouds(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.normal([0.0, 0.0], 0.1, size=(n, 2))
    q = rng.normal([0.3, 0.1], 0.15, size=(n, 2))
    return p, rng.exponential(size=n), q, rng.exponential(size=n)


def _exact(p, pw, q, qw):
    cost = ot.dist(p, q, metric="euclidean")
    return float(ot.emd2(pw / pw.sum(), qw / qw.sum(), cost))


def test_translated_point_is_moved_exactly():
    result = emd([[0.0, 0.0]], [[3.0, 4.0]], steps=200, hidden=(8, 8))
    assert result.value == pytest.approx(5.0, rel=2e-3)


def test_matches_exact_emd_from_below_on_small_clouds():
    p, pw, q, qw = _clouds(60)
    exact = _exact(p, pw, q, qw)
    result = emd(p, q, p_weights=pw, q_weights=qw, steps=200, hidden=(32, 32))
    # A 1-Lipschitz critic can only underestimate; training brings it close.
    assert result.value <= exact * (1 + 1e-5)
    assert result.value > 0.9 * exact


def test_critic_is_certified_one_lipschitz_in_l2():
    p, pw, q, qw = _clouds(50)
    result = emd(p, q, p_weights=pw, q_weights=qw, steps=50, hidden=(16, 16))
    assert lipschitz_bound(result.critic, input_norm="two", output_norm="inf") <= 1 + 1e-6
    x = torch.randn(2000, 2) * 0.3
    y = x + torch.randn(2000, 2) * 0.05
    change = (result.critic(x) - result.critic(y)).abs().squeeze(-1)
    assert bool((change <= torch.linalg.vector_norm(x - y, dim=1) * (1 + 1e-5) + 1e-6).all())


def test_minibatch_estimate_is_evaluated_on_every_particle():
    p, pw, q, qw = _clouds(200)
    result = emd(p, q, p_weights=pw, q_weights=qw, steps=60, batch_size=64, hidden=(16, 16))
    assert 0 < result.value <= _exact(p, pw, q, qw) * (1 + 1e-5)


def test_normalize_ignores_total_energy_and_equal_keeps_it():
    p = np.array([[0.0, 0.0]])
    q = np.array([[1.0, 0.0]])
    normalized = emd(p, q, p_weights=[2.0], q_weights=[5.0], steps=250, hidden=(8, 8))
    assert normalized.value == pytest.approx(1.0, rel=2e-3)
    equal = emd(p, q, p_weights=[2.0], q_weights=[2.0], totals="equal", steps=250, hidden=(8, 8))
    assert equal.value == pytest.approx(2.0, rel=2e-3)
    assert equal.mass == 2.0


def test_warm_start_accepts_only_a_one_lipschitz_critic():
    p, pw, q, qw = _clouds(20)
    critic = lipschitz_critic(np.concatenate([p, q]), hidden=(8, 8))
    emd(p, q, critic=critic, steps=5)
    loose = lipschitz_mlp(2, hidden=(8,), lipschitz=3.0, input_norm="two")
    with pytest.raises(ConfigError, match="bound"):
        emd(p, q, critic=loose, steps=5)


@pytest.mark.parametrize(
    ("p", "q", "kwargs", "match"),
    [
        (np.zeros((0, 2)), np.zeros((3, 2)), {}, "empty"),
        (np.zeros((3, 2)), np.zeros((0, 2)), {}, "empty"),
        (np.zeros((2, 2)), np.zeros((2, 2)), {"p_weights": [1.0, -1.0]}, "negative"),
        (np.zeros((2, 2)), np.zeros((2, 2)), {"q_weights": [0.0, 0.0]}, "sum to zero"),
        (np.zeros((2, 2)), np.zeros((2, 2)), {"p_weights": [1.0]}, "one per particle"),
        (np.zeros((2, 2)), np.zeros((2, 3)), {}, "different spaces"),
        (np.full((2, 2), math.nan), np.zeros((2, 2)), {}, "NaN"),
        (np.zeros(2), np.zeros((2, 2)), {}, "shape"),
        (
            np.zeros((1, 2)),
            np.ones((1, 2)),
            {"p_weights": [1.0], "q_weights": [2.0], "totals": "equal"},
            "total energies differ",
        ),
    ],
)
def test_bad_clouds_are_data_errors_naming_the_problem(p, q, kwargs, match):
    with pytest.raises(DataError, match=match):
        emd(p, q, steps=1, **kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"totals": "fractions"}, {"steps": 0}, {"lr": -1.0}, {"batch_size": 0}]
)
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        emd(np.zeros((1, 2)), np.ones((1, 2)), **kwargs)


def test_exact_emd_wraps_pot_with_the_same_conventions():
    p, pw, q, qw = _clouds(30)
    assert exact_emd(p, q, p_weights=pw, q_weights=qw) == pytest.approx(_exact(p, pw, q, qw))
    one, two = [[0.0, 0.0]], [[1.0, 0.0]]
    doubled = exact_emd(one, two, p_weights=[2.0], q_weights=[2.0], totals="equal")
    assert doubled == pytest.approx(2.0)
    with pytest.raises(DataError, match="negative"):
        exact_emd(p, q, p_weights=-pw)
