"""Calibration: prior-dependent (MSE) and prior-independent (maximum-likelihood) ones."""

from robusthep.calib.ansatz import GaussianAnsatz, donsker_varadhan_loss
from robusthep.calib.calibration import (
    MseCalibration,
    mse_calibration,
    prior_independent_calibration,
)
from robusthep.calib.gaussian_example import gaussian_prior_example

__all__ = [
    "GaussianAnsatz",
    "MseCalibration",
    "donsker_varadhan_loss",
    "gaussian_prior_example",
    "mse_calibration",
    "prior_independent_calibration",
]
