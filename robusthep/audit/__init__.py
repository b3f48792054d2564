"""Audits: verification of guarantees, figures of merit of taggers, attacks within physics
budgets, adversarial mismodelling and certified robustness."""

from robusthep.audit.abcd import AbcdClosure, abcd_closure
from robusthep.audit.attacks import fgsm, pgd
from robusthep.audit.bootstrap import BootstrapResult, bootstrap
from robusthep.audit.budget import Budget
from robusthep.audit.certify import Certificate, budget_lipschitz, certify
from robusthep.audit.ddt import DesignedDecorrelation, QuantileDecorrelation, scaling_variable
from robusthep.audit.jets import JetInputs, jet_inputs, jet_pt_mass, toy_jets
from robusthep.audit.mismodelling import JetPerturber, mismodelling_loss
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
    "Budget",
    "Certificate",
    "JetInputs",
    "JetPerturber",
    "RocCurve",
    "VerificationReport",
    "abcd_closure",
    "auc",
    "background_rejection",
    "bootstrap",
    "budget_lipschitz",
    "certify",
    "fgsm",
    "inverse_jsd",
    "jensen_shannon_divergence",
    "jet_inputs",
    "jet_pt_mass",
    "mismodelling_loss",
    "pgd",
    "roc_curve",
    "scaling_variable",
    "sculpted_histograms",
    "tagger_metrics",
    "threshold_at_efficiency",
    "toy_jets",
    "verify",
]
