"""Statistical inference: pseudo-experiments, binned likelihood, intervals, coverage, and
simulation-based inference (likelihood ratios, CARL, flows, NRE, AVO, pivot)."""

from robusthep.infer.coverage import (
    ONE_SIGMA,
    Coverage,
    WidthRatio,
    challenge_score,
    chance_outside,
    coverage,
    width_ratio,
)
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

# isort: split
# Simulation-based inference (issue 9).
from robusthep.infer.avo import AVOResult, GaussianProposal, avo
from robusthep.infer.carl import (
    HistogramCalibration,
    IsotonicCalibration,
    KdeCalibration,
    RatioExpectation,
    ratio_expectation,
    reliability_curve,
)
from robusthep.infer.errors import CalibrationError, OutsideTrainingRangeError, SimulatorError
from robusthep.infer.flows import ConditionalFlow, flow_loss
from robusthep.infer.gaussian_task import GaussianTask
from robusthep.infer.nre import NRELoss
from robusthep.infer.pivot import nuisance_protected, output_shift, train_pivot
from robusthep.infer.posterior_coverage import expected_coverage, hpd_credibility, marginal_cdf
from robusthep.infer.ratio import RatioEstimator, log_ratio_from_probability, ratio_loss
from robusthep.infer.scan import ScanInterval, scan_interval

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
    "WidthRatio",
    "chance_outside",
    "challenge_score",
    "coverage",
    "expected_yields",
    "width_ratio",
    # Simulation-based inference (issue 9).
    "AVOResult",
    "CalibrationError",
    "ConditionalFlow",
    "GaussianProposal",
    "GaussianTask",
    "HistogramCalibration",
    "IsotonicCalibration",
    "KdeCalibration",
    "NRELoss",
    "OutsideTrainingRangeError",
    "RatioEstimator",
    "RatioExpectation",
    "ScanInterval",
    "SimulatorError",
    "avo",
    "expected_coverage",
    "flow_loss",
    "hpd_credibility",
    "log_ratio_from_probability",
    "marginal_cdf",
    "nuisance_protected",
    "output_shift",
    "ratio_expectation",
    "ratio_loss",
    "reliability_curve",
    "scan_interval",
    "train_pivot",
]
