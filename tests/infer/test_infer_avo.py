"""AVO: recovers a toy simulator's parameter; a NaN from the simulator stops it with θ."""

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.infer.avo import GaussianProposal, avo
from robusthep.infer.errors import SimulatorError


def _rounded_gaussian(theta, size, rng):
    # Not differentiable in θ: the output is rounded to a grid of 0.25.
    return np.round(rng.normal(theta[0], 1.0, (size, 1)) * 4) / 4


def _toy_fit(truth, entropy=0.0):
    observed = _rounded_gaussian([truth], 2000, np.random.default_rng(5))
    return avo(
        _rounded_gaussian,
        observed,
        GaussianProposal([0.0], [1.0]),
        steps=80,
        batch=8,
        events=32,
        proposal_lr=0.05,
        entropy=entropy,
        seed=1,
    )


def test_avo_recovers_the_parameter_of_a_non_differentiable_simulator():
    result = _toy_fit(1.5)
    assert result.mean[0] == pytest.approx(1.5, abs=0.3)
    assert len(result.history) == 80


def test_the_entropy_penalty_narrows_the_proposal_where_plain_avo_does_not():
    plain, penalised = _toy_fit(1.0), _toy_fit(1.0, entropy=0.1)
    # 80 steps: plain AVO has moved half-way with σ still ≈ 0.45; with the penalty q has
    # collapsed onto the truth (σ ≈ 0.02 measured).
    assert plain.sigma[0] > 0.3
    assert penalised.sigma[0] < 0.1
    assert penalised.mean[0] == pytest.approx(1.0, abs=0.15)
    with pytest.raises(ConfigError, match="entropy"):
        avo(_rounded_gaussian, np.zeros((10, 1)), GaussianProposal([0.0], [1.0]), entropy=-1.0)


def test_same_seed_same_result():
    observed = _rounded_gaussian([0.5], 200, np.random.default_rng(0))
    runs = [
        avo(_rounded_gaussian, observed, GaussianProposal([0.0], [1.0]), steps=3, seed=4)
        for _ in range(2)
    ]
    assert runs[0].mean == runs[1].mean and runs[0].sigma == runs[1].sigma


def test_a_simulator_returning_nan_stops_with_the_parameter_value():
    def broken(theta, size, rng):
        x = rng.normal(theta[0], 1.0, (size, 1))
        if theta[0] > 0:
            x[0, 0] = np.nan
        return x

    observed = np.random.default_rng(0).normal(0, 1, (100, 1))
    with pytest.raises(SimulatorError, match=r"NaN or infinite values at θ = \[\d"):
        avo(broken, observed, GaussianProposal([5.0], [0.1]), steps=2)


def test_wrong_simulator_shape_and_bad_arguments():
    observed = np.zeros((10, 2))
    with pytest.raises(SimulatorError, match="shape"):
        avo(lambda t, n, r: np.zeros((n, 1)), observed, GaussianProposal([0.0], [1.0]), steps=1)
    with pytest.raises(DataError):
        avo(_rounded_gaussian, np.array([[np.nan]] * 3), GaussianProposal([0.0], [1.0]))
    with pytest.raises(ConfigError):
        avo(_rounded_gaussian, np.zeros((10, 1)), GaussianProposal([0.0], [1.0]), steps=0)
    with pytest.raises(ConfigError):
        GaussianProposal([0.0], [-1.0])
    q = GaussianProposal([0.0, 1.0], [1.0, 2.0])
    theta = q.sample(3, torch.Generator().manual_seed(0))
    assert q.log_prob(theta).shape == (3,)
