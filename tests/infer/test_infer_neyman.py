"""The Neyman construction covers at its level on toys where the answer is known."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robusthep.errors import ConstraintError
from robusthep.infer import NeymanBelt, OutsideGridError, coverage


def _toy_estimates(mu: np.ndarray, slope: float, bias: float, noise: float, n: int, rng):
    # A biased, heteroscedastic estimator: μ̂ = slope·μ + bias + noise·sqrt(0.2 + μ)·z.
    mu = np.asarray(mu, dtype=float)
    centre = (slope * mu + bias)[..., None]
    return centre + noise * np.sqrt(0.2 + mu)[..., None] * rng.standard_normal((*mu.shape, n))


@given(
    slope=st.floats(0.5, 2.0),
    bias=st.floats(-0.5, 0.5),
    noise=st.floats(0.05, 0.5),
    truth=st.floats(0.3, 2.8),
    seed=st.integers(0, 2**16),
)
def test_neyman_interval_covers_68_percent(slope, bias, noise, truth, seed):
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.1, 3.0, 30)
    belt = NeymanBelt.calibrate(grid, list(_toy_estimates(grid, slope, bias, noise, 2000, rng)))
    observed = _toy_estimates(np.array(truth), slope, bias, noise, 2000, rng)
    intervals = [belt.interval(float(x)) for x in observed]
    result = coverage([i.low for i in intervals], [i.high for i in intervals], truth)
    # Binomial σ of 2 000 intervals is 0.0104; allow 4σ plus the belt's own quantile noise.
    assert abs(result.fraction - 0.6827) < 0.055
    corrected = np.median([i.estimate for i in intervals])
    assert corrected == pytest.approx(truth, abs=0.1 + 0.2 * noise)


def test_failed_fits_widen_the_belt_and_are_counted():
    rng = np.random.default_rng(1)
    grid = np.linspace(0.1, 3.0, 10)
    clean = [mu + 0.2 * rng.standard_normal(500) for mu in grid]
    broken = [np.concatenate([values, np.full(50, np.nan)]) for values in clean]
    belt, wide = NeymanBelt.calibrate(grid, clean), NeymanBelt.calibrate(grid, broken)
    assert wide.failed.tolist() == [50] * 10
    assert np.all(wide.high - wide.low >= belt.high - belt.low)


def test_outside_the_grid_is_an_error_or_flagged():
    grid = np.linspace(0.1, 3.0, 10)
    belt = NeymanBelt.calibrate(grid, [mu + 0.1 * np.linspace(-2, 2, 101) for mu in grid])
    with pytest.raises(OutsideGridError, match="outside the calibrated belt"):
        belt.interval(7.0, strict=True)
    flagged = belt.interval(7.0)
    assert flagged.outside and flagged.clipped_high
    with pytest.raises(OutsideGridError, match="μ = 3.5 is outside the grid"):
        belt.check_truth(3.5)
    edge = belt.interval(0.05)
    assert edge.clipped_low and not edge.outside
    assert np.isnan(belt.interval(float("nan")).low)


def test_an_estimator_blind_to_mu_cannot_be_inverted():
    rng = np.random.default_rng(2)
    grid = np.linspace(0.1, 3.0, 5)
    with pytest.raises(ConstraintError, match="does not increase"):
        NeymanBelt.calibrate(grid, [rng.standard_normal(200) * 0 + 1.0 for _ in grid])


def test_an_estimator_piled_up_at_the_grid_edge_never_under_covers():
    # A fit bounded to the scan [0.8, 1.2]: μ̂ piles up at the edges, the belt's quantiles
    # are flat there, and the whole plateau belongs to the interval (its middle covered 0.57).
    rng = np.random.default_rng(4)
    grid = np.round(np.linspace(0.8, 1.2, 17), 4)

    def estimates(mu: float, n: int) -> np.ndarray:
        return np.clip(mu + 0.08 * rng.standard_normal(n), 0.8, 1.2)

    belt = NeymanBelt.calibrate(grid, [estimates(mu, 4000) for mu in grid])
    for truth in (0.85, 1.0, 1.15):
        intervals = [belt.interval(float(x)) for x in estimates(truth, 4000)]
        result = coverage([i.low for i in intervals], [i.high for i in intervals], truth)
        assert result.fraction > 0.6827 - 2 * result.error, truth


@given(
    slope=st.floats(0.5, 2.0),
    bias=st.floats(-0.5, 0.5),
    noise=st.floats(0.05, 0.5),
    seed=st.integers(0, 2**16),
)
def test_bounds_of_many_estimates_are_the_intervals_one_by_one(slope, bias, noise, seed):
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 3.0, 7)
    belt = NeymanBelt.calibrate(grid, list(_toy_estimates(grid, slope, bias, noise, 200, rng)))
    # Estimates inside, beyond both ends of the belt, on a quantile plateau, and failed.
    estimates = np.concatenate(
        [rng.uniform(belt.low[0] - 1, belt.high[-1] + 1, 50), belt.low[:2], [np.nan]]
    )
    low, high = belt.bounds(estimates)
    one_by_one = [belt.interval(float(x)) for x in estimates]
    np.testing.assert_array_equal(low, [i.low for i in one_by_one])
    np.testing.assert_array_equal(high, [i.high for i in one_by_one])
    assert np.isnan(low[-1]) and np.isnan(high[-1])
