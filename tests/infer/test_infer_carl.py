"""CARL calibration: recovers known ratios, empty bins, E[r] = 1, reliability."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from robusthep.errors import DataError
from robusthep.infer.carl import (
    HistogramCalibration,
    IsotonicCalibration,
    KdeCalibration,
    isotonic_regression,
    ratio_expectation,
    reliability_curve,
)
from robusthep.infer.errors import CalibrationError

CALIBRATIONS = [HistogramCalibration, IsotonicCalibration, KdeCalibration]


@pytest.mark.parametrize("kind", CALIBRATIONS)
def test_calibration_recovers_a_known_ratio_of_a_miscalibrated_score(kind):
    """The score is a monotonic distortion of x: calibration undoes it (CARL's theorem)."""
    rng = np.random.default_rng(0)
    numerator, reference = rng.normal(0.5, 1, 20_000), rng.normal(0, 1, 20_000)
    distort = np.tanh  # any increasing map
    calibration = kind.fit(distort(numerator), distort(reference))
    x = np.linspace(-1.5, 1.5, 7)
    error = calibration.log_ratio(distort(x)) - (0.5 * x - 0.125)
    assert np.abs(error).mean() < 0.08


@pytest.mark.parametrize("kind", CALIBRATIONS)
def test_calibrated_ratio_has_unit_expectation_on_held_out_reference(kind):
    rng = np.random.default_rng(1)
    calibration = kind.fit(rng.normal(0.5, 1, 10_000), rng.normal(0, 1, 10_000))
    check = ratio_expectation(calibration.log_ratio(rng.normal(0, 1, 5_000)))
    assert abs(check.mean - 1) < max(4 * check.error, 0.03)


def test_empty_bin_is_a_clear_error_and_smoothing_is_explicit():
    numerator = np.array([0.1, 0.2, 0.3, 0.4])
    reference = np.array([0.6, 0.7, 0.8, 0.9])
    with pytest.raises(CalibrationError, match="holds no .* event .*smoothing > 0"):
        HistogramCalibration.fit(numerator, reference, bins=2)
    smoothed = HistogramCalibration.fit(numerator, reference, bins=2, smoothing=0.5)
    values = smoothed.log_ratio(np.array([0.0, 1.0]))
    assert np.all(np.isfinite(values)) and values[0] > 0 > values[1]


@pytest.mark.parametrize("kind", [IsotonicCalibration, KdeCalibration])
def test_separated_samples_give_finite_ratios(kind):
    """Scores that separate perfectly (s = 0 / 1 territory) still give no NaN or ∞."""
    calibration = kind.fit(np.full(50, 1.0) + np.arange(50) * 1e-3, np.zeros(50))
    values = calibration.log_ratio(np.array([-1e3, 0.0, 0.5, 1.0, 1e3]))
    assert np.all(np.isfinite(values))


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40))
def test_isotonic_regression_is_non_decreasing_and_keeps_the_mean(values):
    x = np.arange(len(values), dtype=float)
    _, fitted = isotonic_regression(x, values)
    assert np.all(np.diff(fitted) >= -1e-9 * (1 + np.abs(fitted[1:])))
    assert fitted.mean() == pytest.approx(np.mean(values), rel=1e-9, abs=1e-6)


def test_reliability_curve_of_a_calibrated_probability_is_the_diagonal():
    rng = np.random.default_rng(2)
    s = rng.uniform(0, 1, 50_000)
    labels = (rng.uniform(0, 1, s.size) < s).astype(float)
    curve = reliability_curve(s, labels, bins=10)
    assert np.abs(curve["observed"] - curve["predicted"]).max() < 0.03


def test_bad_input():
    with pytest.raises(DataError, match="empty"):
        KdeCalibration.fit([], [1.0])
    with pytest.raises(DataError, match="NaN"):
        IsotonicCalibration.fit([np.nan], [1.0])
    with pytest.raises(CalibrationError, match="every score is the same"):
        KdeCalibration.fit([1.0, 1.0], [1.0])
    with pytest.raises(DataError):
        reliability_curve([0.5], [2])
    with pytest.raises(DataError):
        ratio_expectation([0.0])
