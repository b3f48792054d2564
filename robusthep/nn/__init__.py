"""Torch modules with guarantees: Lipschitz layers, GroupSort, the monotonic wrapper, PFN."""

from robusthep.nn.bound import lipschitz_bound
from robusthep.nn.export import to_plain
from robusthep.nn.groupsort import GroupSort
from robusthep.nn.lipschitz_linear import KINDS, LipschitzLinear
from robusthep.nn.mlp import LipschitzSequential, lipschitz_mlp
from robusthep.nn.monotonic import MonotonicWrapper, monotonic_signs
from robusthep.nn.norms import NORMS, operator_norm, spectral_norm_bound
from robusthep.nn.pfn import ParticleFlowNetwork
from robusthep.nn.standardize import Standardize

__all__ = [
    "KINDS",
    "NORMS",
    "GroupSort",
    "LipschitzLinear",
    "LipschitzSequential",
    "MonotonicWrapper",
    "ParticleFlowNetwork",
    "Standardize",
    "lipschitz_bound",
    "lipschitz_mlp",
    "monotonic_signs",
    "operator_norm",
    "spectral_norm_bound",
    "to_plain",
]
