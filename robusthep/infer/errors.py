"""The failures of statistical inference, each a subclass of the robusthep hierarchy."""

from robusthep.errors import ConfigError, DataError, RobustHEPError

__all__ = [
    "EmptyPseudoExperimentError",
    "FeatureMismatchError",
    "FitError",
    "OutsideGridError",
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
