"""Optimal transport: the energy mover's distance by Kantorovich–Rubinstein duality (NEEMo)."""

from robusthep.ot.clouds import TOTALS, as_cloud, normalized_pair
from robusthep.ot.emd import EMDResult, emd, lipschitz_critic
from robusthep.ot.exact import exact_emd
from robusthep.ot.figures import plot_shape_fit
from robusthep.ot.shapes import SHAPE_KINDS, CircleShape, ShapeFit, fit_shape

__all__ = [
    "SHAPE_KINDS",
    "TOTALS",
    "CircleShape",
    "EMDResult",
    "ShapeFit",
    "as_cloud",
    "emd",
    "exact_emd",
    "fit_shape",
    "lipschitz_critic",
    "normalized_pair",
    "plot_shape_fit",
]
