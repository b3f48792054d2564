"""Uncertainty of ensembles: infinite-width (NTK/NNGP) predictions and ensemble studies."""

from robusthep.uq.empirical import empirical_ntk
from robusthep.uq.kernels import ACTIVATIONS, Kernels, fc_kernels
from robusthep.uq.ntk_mlp import NTKMLP, NTKLinear
from robusthep.uq.predict import EnsemblePrediction, infinite_width_ensemble, kernel_ensemble

__all__ = [
    "ACTIVATIONS",
    "NTKMLP",
    "EnsemblePrediction",
    "Kernels",
    "NTKLinear",
    "empirical_ntk",
    "fc_kernels",
    "infinite_width_ensemble",
    "kernel_ensemble",
]
