"""Pseudo-experiments: Poisson counts, independence, the pool-overlap rule, bad input."""

import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.infer import EmptyPseudoExperimentError, PseudoExperimentSampler


def _pool(n_signal: int, n_background: int, rng) -> dict:
    n = n_signal + n_background
    return {
        "process": np.array(["htautau"] * n_signal + ["ztautau"] * n_background),
        "weight": np.ones(n),
        "x": rng.integers(0, 4, n),
    }


def test_counts_are_poisson_with_the_expected_mean():
    sampler = PseudoExperimentSampler(
        _pool(1000, 1000, np.random.default_rng(0)), {"htautau": 10.0, "ztautau": 50.0}
    )
    totals = [
        len(sampler.sample(2.0, {"bkg_scale": 1.1}, seed=s, shifts=False)) for s in range(400)
    ]
    assert np.mean(totals) == pytest.approx(20 + 55, rel=0.03)
    assert np.var(totals) == pytest.approx(75, rel=0.2)


def test_same_seed_same_pseudo_experiment():
    sampler = PseudoExperimentSampler(_pool(100, 100, np.random.default_rng(0)), {"htautau": 3.0})
    a = sampler.sample(1.0, {}, seed=5, shifts=False)
    b = sampler.sample(1.0, {}, seed=5, shifts=False)
    assert np.array_equal(a.table["x"], b.table["x"])


def test_correlation_between_pseudo_experiments_is_nu_over_n():
    # Two pseudo-experiments from one pool share its fluctuation: their bin counts correlate
    # with coefficient ≈ ν(1 − p)/n. Measured over many pools.
    rng = np.random.default_rng(1)
    n, nu, p = 200, 40.0, 0.25
    first, second = [], []
    for pool_seed in range(1500):
        pool = _pool(0, n, np.random.default_rng(pool_seed))
        sampler = PseudoExperimentSampler(pool, {"ztautau": nu}, max_overlap=1.0)
        a, b = (sampler.sample(1.0, {}, seed=int(rng.integers(2**31)), shifts=False) for _ in "ab")
        first.append(np.sum(a.table["x"] == 0))
        second.append(np.sum(b.table["x"] == 0))
    measured = np.corrcoef(first, second)[0, 1]
    assert measured == pytest.approx(nu * (1 - p) / n, abs=0.06)


def test_pool_too_small_is_refused():
    with pytest.raises(ConfigError, match="correlated"):
        PseudoExperimentSampler(_pool(100, 100, np.random.default_rng(0)), {"htautau": 10.0})


def test_a_yield_of_exactly_max_overlap_of_the_pool_is_allowed():
    pool = _pool(0, 429, np.random.default_rng(0))
    # 0.1 · 429 / 429 is 0.10000000000000002 in floating point: still allowed
    PseudoExperimentSampler(pool, {"ztautau": 0.1 * 429}, max_overlap=0.1)
    with pytest.raises(ConfigError, match="lower its yield to ≤ 42.9"):
        PseudoExperimentSampler(pool, {"ztautau": 43.0}, max_overlap=0.1)


def test_zero_events_and_bad_mu_are_errors():
    sampler = PseudoExperimentSampler(_pool(100, 100, np.random.default_rng(0)), {"htautau": 0.0})
    with pytest.raises(EmptyPseudoExperimentError, match="no event"):
        sampler.sample(1.0, {}, seed=0, shifts=False)
    assert len(sampler.sample(1.0, {}, seed=0, shifts=False, allow_empty=True)) == 0
    with pytest.raises(ConfigError, match="outside"):
        sampler.sample(3.5, {}, seed=0)
