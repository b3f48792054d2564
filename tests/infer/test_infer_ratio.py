"""The likelihood-ratio trick: exact ratios on Gaussians, bad input, no NaN at s = 0 or 1."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from robusthep.errors import ConfigError, DataError, RobustHEPError
from robusthep.infer.errors import OutsideTrainingRangeError
from robusthep.infer.ratio import RatioEstimator, log_ratio_from_probability, ratio_loss
from robusthep.train import fit


def _gaussians(n: int = 4000, shift: float = 1.0):
    generator = torch.Generator().manual_seed(1)
    numerator = torch.randn(n, 1, generator=generator) + shift
    reference = torch.randn(n, 1, generator=generator)
    x = torch.cat([numerator, reference])
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    return x, y, torch.ones(2 * n)


def test_trained_logit_is_the_log_ratio_of_two_gaussians():
    torch.manual_seed(0)
    x, y, w = _gaussians(3000)
    model = RatioEstimator(1, hidden=(16,))
    fit(model, ratio_loss, train=(x, y, w), epochs=8, batch_size=512, lr=1e-2, progress=False)
    grid = torch.linspace(-1.5, 2.5, 9)[:, None]
    with torch.no_grad():
        estimate = model.log_ratio(grid).numpy()
    truth = grid[:, 0].numpy() - 0.5  # log N(x; 1, 1)/N(x; 0, 1)
    assert np.max(np.abs(estimate - truth)) < 0.25


def test_per_event_weights_change_the_ratio():
    """Doubling the numerator's weights doubles the estimated ratio (log + ln 2)."""
    torch.manual_seed(0)
    x, y, w = _gaussians(2000)
    heavier = torch.where(y == 1, 2 * w, w)
    logits = []
    for weights in (w, heavier):
        model = RatioEstimator(1, hidden=(16,))
        torch.manual_seed(0)
        fit(
            model,
            ratio_loss,
            train=(x, y, weights),
            epochs=10,
            batch_size=256,
            lr=1e-2,
            progress=False,
        )
        with torch.no_grad():
            logits.append(model.log_ratio(torch.zeros(1, 1)).item())
    assert logits[1] - logits[0] == pytest.approx(math.log(2), abs=0.2)


def test_theta_outside_the_training_range_raises_or_extrapolates_when_asked():
    model = RatioEstimator(2, parameters=1, theta_range=[(0.9, 1.1)])
    x = torch.zeros(4, 2)
    with pytest.raises(OutsideTrainingRangeError, match=r"θ\[0\] = 1.2 is outside"):
        model.log_ratio(x, 1.2)
    with pytest.raises(OutsideTrainingRangeError):
        model.log_ratio(x, float("nan"))
    assert model.log_ratio(x, 1.2, extrapolate=True).shape == (4,)
    assert issubclass(OutsideTrainingRangeError, RobustHEPError)


@given(st.floats(min_value=-200, max_value=200))
def test_ratio_from_logit_is_never_nan(bias):
    model = RatioEstimator(1, hidden=())
    with torch.no_grad():
        model.net[0].bias.fill_(bias)
        value = model.log_ratio(torch.zeros(1, 1))
    assert torch.isfinite(value).all()


def test_probability_of_exactly_zero_or_one_gives_infinite_ratio_not_nan():
    values = log_ratio_from_probability([0.0, 1.0, 0.5])
    assert values[0] == -np.inf and values[1] == np.inf and values[2] == 0.0
    assert not np.isnan(np.exp(values)).any()
    with pytest.raises(DataError, match="must lie in"):
        log_ratio_from_probability([1.5])
    with pytest.raises(DataError):
        log_ratio_from_probability([float("nan")])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"features": 0},
        {"features": 2, "parameters": 1},  # no range
        {"features": 2, "parameters": 1, "theta_range": [(1.0, 0.5)]},
        {"features": 2, "theta_range": [(0.0, 1.0)]},
        {"features": 2, "x_std": [1.0, 0.0]},
    ],
)
def test_bad_configuration_is_a_config_error(kwargs):
    features = kwargs.pop("features")
    with pytest.raises(ConfigError):
        RatioEstimator(features, **kwargs)


def test_wrong_shapes_are_data_errors():
    model = RatioEstimator(2, parameters=1, theta_range=[(0.0, 1.0)])
    with pytest.raises(DataError, match=r"shape \(N, 2\)"):
        model.log_ratio(torch.zeros(3, 3), 0.5)
    with pytest.raises(DataError, match="needs θ"):
        model.log_ratio(torch.zeros(3, 2))
