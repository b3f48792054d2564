"""Losses: decorrelation and the margin loss of Lipschitz classifiers."""

from robusthep.losses.margin import certified_radius, lipschitz_margin_loss

__all__ = ["certified_radius", "lipschitz_margin_loss"]
