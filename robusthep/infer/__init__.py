"""Statistical inference: pseudo-experiments, binned likelihood, intervals, coverage."""

from robusthep.infer.coverage import ONE_SIGMA, Coverage, challenge_score, coverage
from robusthep.infer.errors import (
    EmptyPseudoExperimentError,
    FeatureMismatchError,
    FitError,
    OutsideGridError,
)
from robusthep.infer.likelihood import (
    PYHF_SETTINGS,
    BinnedLikelihood,
    FitResult,
    NormSystematic,
    ProfileInterval,
    ShapeSystematic,
)
from robusthep.infer.neyman import NeymanBelt, NeymanInterval
from robusthep.infer.pseudo import PseudoExperiment, PseudoExperimentSampler, expected_yields

__all__ = [
    "ONE_SIGMA",
    "PYHF_SETTINGS",
    "BinnedLikelihood",
    "Coverage",
    "EmptyPseudoExperimentError",
    "FeatureMismatchError",
    "FitError",
    "FitResult",
    "NeymanBelt",
    "NeymanInterval",
    "NormSystematic",
    "OutsideGridError",
    "ProfileInterval",
    "PseudoExperiment",
    "PseudoExperimentSampler",
    "ShapeSystematic",
    "challenge_score",
    "coverage",
    "expected_yields",
]
