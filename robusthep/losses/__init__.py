"""Losses: decorrelation, the margin loss of Lipschitz classifiers, inference-aware (INFERNO)."""

from robusthep.losses.adversary import (
    AdversarialPivot,
    MixtureDensityNetwork,
    background_protected,
    weighted_bce,
)
from robusthep.losses.decorrelation import DECORRELATION_METHODS, decorrelation_loss
from robusthep.losses.disco import disco_loss, distance_correlation
from robusthep.losses.double_disco import double_disco_loss
from robusthep.losses.inferno import fisher_information, profiled_variance, soft_counts
from robusthep.losses.margin import certified_radius, lipschitz_margin_loss
from robusthep.losses.mode import mode_loss

__all__ = [
    "DECORRELATION_METHODS",
    "AdversarialPivot",
    "MixtureDensityNetwork",
    "background_protected",
    "certified_radius",
    "decorrelation_loss",
    "disco_loss",
    "distance_correlation",
    "double_disco_loss",
    "fisher_information",
    "lipschitz_margin_loss",
    "mode_loss",
    "profiled_variance",
    "soft_counts",
    "weighted_bce",
]
