"""Coverage with binomial errors and the challenge score against hand-computed values."""

import math

import numpy as np
import pytest

from robusthep.errors import DataError
from robusthep.infer import ONE_SIGMA, challenge_score, chance_outside, coverage, width_ratio


def test_coverage_counts_failures_as_not_covering():
    result = coverage([0.0, 0.0, np.nan, 0.0], [2.0, 0.5, 2.0, 2.0], 1.0)
    assert result.n == 4 and result.failed == 1
    assert result.fraction == 0.5
    assert result.error == pytest.approx(math.sqrt(0.25 / 4))


def test_score_inside_the_band_is_minus_log_width():
    # 100 intervals of width 0.4, 68 covering: inside 0.6827 ± 2σ, so f = 1.
    low = np.full(100, 0.8)
    high = np.full(100, 1.2)
    truth = np.where(np.arange(100) < 68, 1.0, 5.0)
    score = challenge_score(low, high, truth)
    assert score["penalty"] == 1.0
    assert score["score"] == pytest.approx(-math.log(0.401))


def test_score_under_coverage_by_hand():
    # N = 100: σ68 = sqrt(0.6827 · 0.3173 / 100) = 0.0465425; the lower edge 0.589615.
    # c = 0.5: Δ/σ = (0.5 − 0.589615)/0.0465425 = −1.92545; f = 1 + 1.92545⁴ = 14.7445.
    truth = np.where(np.arange(100) < 50, 1.0, 9.0)
    score = challenge_score(np.zeros(100), np.ones(100) * 2, truth)
    assert score["sigma68"] == pytest.approx(0.046543, abs=1e-6)
    assert score["penalty"] == pytest.approx(14.7445, rel=1e-4)
    assert score["score"] == pytest.approx(-math.log(2.001 * 14.7445), rel=1e-4)


def test_score_over_coverage_by_hand():
    # c = 1: Δ/σ = (1 − 0.775787)/0.046543 = 4.81733; f = 1 + 4.81733³ = 112.794.
    score = challenge_score(np.zeros(100), np.ones(100), 0.5)
    assert score["penalty"] == pytest.approx(112.794, rel=1e-4)
    assert score["score"] == pytest.approx(-math.log(1.001 * 112.794), rel=1e-4)


def test_empty_and_mismatched_inputs_are_errors():
    with pytest.raises(DataError, match="no intervals"):
        coverage([], [], 1.0)
    with pytest.raises(DataError, match="endpoints"):
        coverage([0.0, 1.0], [1.0], 1.0)


def test_chance_outside_matches_simulated_exact_and_calibrated_intervals():
    """Exact intervals, and intervals from a belt of empirical quantiles, simulated."""
    rng = np.random.default_rng(3)
    n, n_cal, cells = 200, 200, 4000
    exact = rng.binomial(n, ONE_SIGMA, size=cells) / n
    band = 2 * math.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n)
    outside = np.mean(np.abs(exact - ONE_SIGMA) > band + 1e-12)
    assert outside == pytest.approx(chance_outside(n), abs=0.01)
    # a belt: the central 68.27% of n_cal draws, then n fresh draws judged against it
    calibration = rng.normal(size=(cells, n_cal))
    low, high = np.quantile(calibration, [(1 - ONE_SIGMA) / 2, (1 + ONE_SIGMA) / 2], axis=1)
    fresh = rng.normal(size=(cells, n))
    measured = np.mean((fresh >= low[:, None]) & (fresh <= high[:, None]), axis=1)
    outside = np.mean(np.abs(measured - ONE_SIGMA) > band + 1e-12)
    assert outside == pytest.approx(chance_outside(n, calibration=n_cal), abs=0.02)
    assert outside > 2 * chance_outside(n)  # the belt's own noise matters at equal sizes


def test_chance_outside_refuses_empty_cells():
    with pytest.raises(DataError, match="must be ≥ 1"):
        chance_outside(0)


def test_width_ratio_error_is_calibrated_and_paired():
    # Widths that share most of their spread (events per pseudo-experiment): the method is
    # 5% narrower on average; its paired error must match the ratio's scatter over repeats.
    rng = np.random.default_rng(3)
    ratios, errors = [], []
    for _ in range(400):
        shared = rng.gamma(20.0, 0.05, 300)
        reference = shared * (1 + 0.05 * rng.standard_normal(300))
        method = 0.95 * shared * (1 + 0.05 * rng.standard_normal(300))
        result = width_ratio(method, reference)
        ratios.append(result.ratio)
        errors.append(result.error)
    ratios = np.array(ratios)
    assert ratios.mean() == pytest.approx(0.95, abs=0.002)
    assert np.std(ratios) == pytest.approx(np.mean(errors), rel=0.15)
    # Unpaired, the error of a ratio of two means of 300 widths with a 22% spread is ≈ 1.8%.
    assert np.mean(errors) < 0.006


def test_width_ratio_counts_failures_and_rejects_bad_input():
    result = width_ratio([1.0, np.nan, 2.0, 3.0], [1.0, 1.0, np.inf, 2.0])
    assert (result.n, result.excluded) == (2, 2)
    assert result.ratio == pytest.approx(4.0 / 3.0)
    with pytest.raises(DataError, match="pair them"):
        width_ratio([1.0, 2.0], [1.0])
    with pytest.raises(DataError, match="need ≥ 2"):
        width_ratio([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(DataError, match="must be positive"):
        width_ratio([1.0, 1.0], [0.0, 0.0])
