import pytest
import torch

from robusthep.calib import (
    GaussianAnsatz,
    donsker_varadhan_loss,
    gaussian_prior_example,
    mse_calibration,
    prior_independent_calibration,
)
from robusthep.errors import ConfigError, DataError


def test_ansatz_peaks_at_its_calibration_with_its_resolution_as_width():
    torch.manual_seed(0)
    ansatz = GaussianAnsatz(2, hidden=(16,), z_loc=100.0, z_scale=20.0)
    x = torch.randn(4, 2)
    grid = torch.linspace(0, 200, 20001)
    with torch.no_grad():
        peak = ansatz.calibrate(x)
        for row in range(4):
            values = ansatz(x[row].expand(len(grid), 2), grid)
            assert grid[values.argmax()].item() == pytest.approx(peak[row].item(), abs=0.02)
    z = peak.clone().requires_grad_()
    (slope,) = torch.autograd.grad(ansatz(x, z).sum(), z, create_graph=True)
    (curvature,) = torch.autograd.grad(slope.sum(), z)
    torch.testing.assert_close(slope.detach(), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(ansatz.resolution(x).detach(), (-curvature).rsqrt())


def test_donsker_varadhan_bound_is_below_the_mutual_information():
    # z, x jointly Gaussian with correlation ρ: I = −½ log(1 − ρ²); any T gives a lower bound
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(20000, generator=generator)
    x = (z + torch.randn(20000, generator=generator))[:, None]
    torch.manual_seed(0)
    ansatz = GaussianAnsatz(1, hidden=(8,))
    bound = -donsker_varadhan_loss(ansatz, x, z, generator=generator).item()
    assert bound < -0.5 * torch.log(torch.tensor(0.5)).item()


def test_bad_input():
    with pytest.raises(DataError, match="3 measurements x but 2 truths"):
        prior_independent_calibration(torch.zeros(3), torch.zeros(2))
    with pytest.raises(DataError, match="at least 2"):
        mse_calibration(torch.zeros(1), torch.zeros(1))
    with pytest.raises(ConfigError, match="scales"):
        GaussianAnsatz(1, z_scale=0.0)
    with pytest.raises(DataError, match="3 features"):
        GaussianAnsatz(2).calibrate(torch.zeros(4, 3))
    with pytest.raises(ConfigError, match="noise"):
        gaussian_prior_example(noise=0.0)


@pytest.mark.slow
def test_gaussian_example_mse_is_biased_and_maximum_likelihood_is_not():
    results = gaussian_prior_example(events=20000, epochs=10, seed=0)  # as in the docs
    assert results["analytic_mse_bias"] == -0.5
    assert results["mse_bias"] == pytest.approx(-0.5, abs=0.1)
    assert results["mse_slope"] == pytest.approx(-0.5, abs=0.1)
    assert abs(results["prior_independent_bias"]) < 0.1
    assert abs(results["prior_independent_slope"]) < 0.1
    assert results["resolution"] == pytest.approx(1.0, rel=0.25)
