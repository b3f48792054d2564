"""Audits: verification of guarantees, and the figures of merit of decorrelated taggers."""

from robusthep.audit.abcd import AbcdClosure, abcd_closure
from robusthep.audit.bootstrap import BootstrapResult, bootstrap
from robusthep.audit.ddt import DesignedDecorrelation, QuantileDecorrelation, scaling_variable
from robusthep.audit.roc import (
    RocCurve,
    auc,
    background_rejection,
    roc_curve,
    threshold_at_efficiency,
)
from robusthep.audit.sculpting import (
    DEFAULT_MASS_BINS,
    inverse_jsd,
    jensen_shannon_divergence,
    sculpted_histograms,
)
from robusthep.audit.tagger import tagger_metrics
from robusthep.audit.verify import VerificationReport, verify

__all__ = [
    "DEFAULT_MASS_BINS",
    "AbcdClosure",
    "BootstrapResult",
    "DesignedDecorrelation",
    "QuantileDecorrelation",
    "RocCurve",
    "VerificationReport",
    "abcd_closure",
    "auc",
    "background_rejection",
    "bootstrap",
    "inverse_jsd",
    "jensen_shannon_divergence",
    "roc_curve",
    "scaling_variable",
    "sculpted_histograms",
    "tagger_metrics",
    "threshold_at_efficiency",
    "verify",
]
