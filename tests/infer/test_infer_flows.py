"""Conditional flows: a normalised density of x given θ, range checks, learns a shift."""

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.infer.errors import OutsideTrainingRangeError
from robusthep.infer.flows import ConditionalFlow, flow_loss
from robusthep.infer.scan import scan_interval
from robusthep.train import fit


def test_density_integrates_to_one_in_the_original_units():
    torch.manual_seed(0)
    flow = ConditionalFlow(
        1, 1, theta_range=[(0.0, 1.0)], transforms=1, hidden=(8,), x_mean=[100.0], x_std=[20.0]
    )
    x = torch.linspace(-100, 300, 4001)[:, None]
    with torch.no_grad():
        density = flow.log_prob(x, torch.tensor([0.5])).exp()
    integral = float(torch.trapezoid(density, x[:, 0]))
    assert integral == pytest.approx(1.0, abs=0.02)


def test_flow_learns_a_mean_shift_and_gives_an_interval_around_the_truth():
    torch.manual_seed(0)
    theta = torch.rand(3000, 1) * 2 - 1
    x = theta + 0.5 * torch.randn(3000, 1)
    flow = ConditionalFlow(1, 1, theta_range=[(-1.0, 1.0)], transforms=1, hidden=(16,))
    fit(
        flow,
        flow_loss,
        train=(x, theta, torch.ones(3000)),
        epochs=8,
        batch_size=128,
        lr=3e-3,
        progress=False,
    )
    data = 0.3 + 0.5 * torch.randn(400, 1, generator=torch.Generator().manual_seed(1))
    grid = np.linspace(-1, 1, 81)
    with torch.no_grad():
        nll = [-flow.log_prob(data, torch.tensor([t])).sum().item() for t in grid]
    interval = scan_interval(grid, np.array(nll))
    assert interval.low < 0.3 < interval.high
    assert interval.high - interval.low == pytest.approx(2 * 0.5 / 20, rel=0.35)


def test_range_and_shapes():
    flow = ConditionalFlow(2, 1, theta_range=[(0.0, 1.0)], transforms=1, hidden=(8,))
    with pytest.raises(OutsideTrainingRangeError, match="outside the training range"):
        flow.log_prob(torch.zeros(3, 2), torch.tensor([2.0]))
    assert flow.log_prob(torch.zeros(3, 2), torch.tensor([2.0]), extrapolate=True).shape == (3,)
    with pytest.raises(DataError):
        flow.log_prob(torch.zeros(3, 3), torch.tensor([0.5]))
    with pytest.raises(ConfigError):
        ConditionalFlow(2, 0, theta_range=[])


def test_scan_interval_marks_truncation_and_refuses_nan():
    grid = np.linspace(0, 1, 11)
    result = scan_interval(grid, (grid - 0.95) ** 2)
    assert result.truncated and result.high == 1.0
    with pytest.raises(DataError, match="not finite"):
        scan_interval(grid, np.where(grid > 0.5, np.nan, 0.0))
