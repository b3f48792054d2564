"""Optimal transport: the energy mover's distance by Kantorovich–Rubinstein duality (NEEMo)."""

from robusthep.ot.clouds import TOTALS, as_cloud, normalized_pair
from robusthep.ot.compare import compare_with_pot, prong_clouds
from robusthep.ot.emd import EMDResult, emd, lipschitz_critic
from robusthep.ot.exact import exact_emd
from robusthep.ot.figures import plot_jet_fits, plot_shape_fit
from robusthep.ot.jets import JetFitSettings, fit_jet_shapes, fit_jets, jet_cloud, select_jets
from robusthep.ot.refine import c_transform_bound
from robusthep.ot.shapes import SHAPE_KINDS, CircleShape, ShapeFit, fit_shape

__all__ = [
    "SHAPE_KINDS",
    "TOTALS",
    "CircleShape",
    "EMDResult",
    "JetFitSettings",
    "ShapeFit",
    "as_cloud",
    "c_transform_bound",
    "compare_with_pot",
    "emd",
    "exact_emd",
    "fit_jet_shapes",
    "fit_jets",
    "fit_shape",
    "jet_cloud",
    "lipschitz_critic",
    "normalized_pair",
    "plot_jet_fits",
    "plot_shape_fit",
    "prong_clouds",
    "select_jets",
]
