"""Optimal transport: the energy mover's distance by Kantorovich–Rubinstein duality (NEEMo)."""

from robusthep.ot.clouds import TOTALS, as_cloud, normalized_pair
from robusthep.ot.emd import EMDResult, emd, lipschitz_critic
from robusthep.ot.shapes import SHAPE_KINDS, CircleShape, ShapeFit, fit_shape

__all__ = [
    "SHAPE_KINDS",
    "TOTALS",
    "CircleShape",
    "EMDResult",
    "ShapeFit",
    "as_cloud",
    "emd",
    "fit_shape",
    "lipschitz_critic",
    "normalized_pair",
]
