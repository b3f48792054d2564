"""Neural ratio estimation and posterior coverage on the Gaussian task with a known posterior."""

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.infer.gaussian_task import GaussianTask
from robusthep.infer.nre import NRELoss
from robusthep.infer.posterior_coverage import expected_coverage, hpd_credibility, marginal_cdf
from robusthep.infer.ratio import RatioEstimator
from robusthep.train import fit


def test_exact_posterior_has_calibrated_coverage():
    """The closed-form posterior of the task covers at every level (checks both modules)."""
    task = GaussianTask(dim=1, noise=0.3)
    rng = np.random.default_rng(0)
    truth = task.sample_prior(2000, rng)
    x = task.simulate(truth, rng)
    grid = np.linspace(-2, 2, 201)
    log_posterior = task.log_likelihood(x[:, None, :], grid[None, :, None])
    index = np.abs(truth - grid[None, :]).argmin(axis=1)
    levels = np.array([0.3, 0.6827, 0.9])
    covered = expected_coverage(hpd_credibility(log_posterior, index), levels)
    np.testing.assert_allclose(covered, levels, atol=0.035)
    cdf = marginal_cdf(log_posterior, index[:, None], axis=0)
    assert np.histogram(cdf, 5, (0, 1))[0].min() > 300  # about uniform (400 a bin)


def test_an_overconfident_posterior_undercovers():
    task = GaussianTask(dim=1, noise=0.3)
    rng = np.random.default_rng(1)
    truth = task.sample_prior(1000, rng)
    x = task.simulate(truth, rng)
    grid = np.linspace(-2, 2, 201)
    log_posterior = 4 * task.log_likelihood(x[:, None, :], grid[None, :, None])  # σ / 2
    index = np.abs(truth - grid[None, :]).argmin(axis=1)
    assert expected_coverage(hpd_credibility(log_posterior, index), [0.6827])[0] < 0.45


@pytest.mark.parametrize("loss", [NRELoss("A"), NRELoss("B", classes=4)])
def test_nre_learns_the_posterior_of_the_gaussian_task(loss):
    torch.manual_seed(0)
    task = GaussianTask(dim=1, noise=0.3)
    rng = np.random.default_rng(0)
    theta = task.sample_prior(4000, rng)
    x = task.simulate(theta, rng)
    model = RatioEstimator(1, parameters=1, hidden=(32, 32), theta_range=task.theta_range)
    data = (torch.as_tensor(x).float(), torch.as_tensor(theta).float(), torch.ones(len(x)))
    fit(model, loss, train=data, epochs=8, batch_size=128, lr=3e-3, progress=False)
    grid = torch.linspace(-2, 2, 81)[:, None]
    for observed in (-1.0, 0.5):
        with torch.no_grad():
            log_r = model.log_ratio(torch.full((81, 1), observed), grid).numpy()
        p = np.exp(log_r - log_r.max())
        p /= p.sum()
        mean = float(p @ grid[:, 0].numpy())
        assert mean == pytest.approx(observed, abs=0.15)


def test_bad_input():
    with pytest.raises(ConfigError, match="unknown NRE kind"):
        NRELoss("C")
    with pytest.raises(ConfigError):
        NRELoss("B", classes=1)
    with pytest.raises(ConfigError):
        GaussianTask(dim=0)
    with pytest.raises(DataError):
        GaussianTask().simulate(np.zeros((2, 3)), np.random.default_rng(0))
    with pytest.raises(DataError, match="NaN"):
        hpd_credibility(np.array([[np.nan, 0.0]]), [0])
    with pytest.raises(DataError):
        hpd_credibility(np.zeros((1, 3)), [5])
