"""The failures of statistical inference, each a subclass of the robusthep hierarchy."""

from robusthep.errors import ConfigError, DataError, RobustHEPError

__all__ = [
    "EmptyPseudoExperimentError",
    "FeatureMismatchError",
    "FitError",
    "OutsideGridError",
    "CalibrationError",
    "OutsideTrainingRangeError",
    "SimulatorError",
]


class EmptyPseudoExperimentError(DataError):
    """Raised when a pseudo-experiment (or observed data set) holds no event to fit.

    A zero-event data set has no information on μ; a measurement must not return a number
    for it. The message names the pseudo-experiment's μ and seed.
    """


class OutsideGridError(ConfigError):
    """Raised when a Neyman construction is asked about μ outside its calibration grid.

    The belt is only known where pseudo-experiments were thrown; extrapolating it is not a
    calibrated statement. Widen the grid, or ask with ``strict=False`` for a flagged result.
    """


class FitError(RobustHEPError):
    """Raised when a likelihood fit does not converge and the caller asked for strictness.

    By default a non-converged fit is returned with ``converged=False`` and counted;
    it is never dropped from coverage.
    """


class FeatureMismatchError(DataError):
    """Raised when data lack the features a model needs, or the model knows other features.

    The message lists the missing names and the model's own feature list.
    """


class OutsideTrainingRangeError(ConfigError):
    """Raised when a parametrised model is asked about θ outside the range it was trained on.

    A network's output for an unseen θ is an extrapolation, not a likelihood ratio; the
    message names the value and the range. Pass ``extrapolate=True`` to evaluate anyway.
    """


class CalibrationError(DataError):
    """Raised when a calibration of classifier scores cannot be built from the data given.

    Example: a histogram bin with no event under one hypothesis (its density ratio would be
    0 or infinite). Use fewer bins, more events, or the documented smoothing.
    """


class SimulatorError(RobustHEPError):
    """Raised when a simulator returns unusable output (NaN or infinite values, a wrong
    shape) during inference; the message names the parameter value that caused it."""
