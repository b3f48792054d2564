"""Losses: decorrelation and the margin loss of Lipschitz classifiers."""

from robusthep.losses.disco import disco_loss, distance_correlation
from robusthep.losses.margin import certified_radius, lipschitz_margin_loss
from robusthep.losses.mode import mode_loss

__all__ = [
    "certified_radius",
    "disco_loss",
    "distance_correlation",
    "lipschitz_margin_loss",
    "mode_loss",
]
