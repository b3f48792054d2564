"""A parametrised ATLAS-like detector: energy resolutions for each object and the soft term."""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CENTRAL_JET",
    "ELECTRON",
    "FORWARD_JET",
    "JET_CENTRAL_ETA",
    "MUON",
    "SOFT_TERM_K",
    "TAU_HAD",
    "CalorimeterResolution",
    "TrackerResolution",
    "smear_momenta",
    "smear_soft_term",
]

JET_CENTRAL_ETA = 3.2
"""|η| where the hadronic end-cap calorimeter gives way to the forward calorimeter."""

SOFT_TERM_K = 0.5
"""σ(MET_x) = σ(MET_y) = k √ΣE_T of the soft term, k in √GeV (ATLAS, arXiv:1108.5602)."""


@dataclass(frozen=True)
class CalorimeterResolution:
    """Calorimeter energy resolution σ_E / E = stochastic / √(E / GeV) ⊕ constant.

    Arguments:
        stochastic: the stochastic term, in √GeV (0.10 means 10 % / √E).
        constant: the constant term (0.007 means 0.7 %).

    Example:
        >>> round(float(CalorimeterResolution(0.5, 0.03).relative([100.0])[0]), 4)
        0.0583

    References:
        ATLAS Collaboration, "The ATLAS Experiment at the CERN Large Hadron Collider",
        JINST 3 (2008) S08003, table 1.1 (general performance goals).
    """

    stochastic: float
    constant: float

    def relative(self, energy: np.ndarray | list[float]) -> np.ndarray:
        """Return σ_E / E at ``energy`` (GeV)."""
        energy = np.maximum(np.asarray(energy, dtype=np.float64), 1e-9)
        return np.hypot(self.stochastic / np.sqrt(energy), self.constant)


@dataclass(frozen=True)
class TrackerResolution:
    """Tracking momentum resolution σ_pT / pT = curvature · pT ⊕ constant.

    Arguments:
        curvature: the term growing with pT, per GeV (0.0005 means 0.05 % · pT).
        constant: the multiple-scattering term (0.01 means 1 %).

    Example:
        >>> round(float(TrackerResolution(0.0005, 0.01).relative([100.0])[0]), 4)
        0.051

    References:
        ATLAS Collaboration, JINST 3 (2008) S08003, table 1.1 (tracking).
    """

    curvature: float
    constant: float

    def relative(self, pt: np.ndarray | list[float]) -> np.ndarray:
        """Return σ_pT / pT at transverse momentum ``pt`` (GeV)."""
        return np.hypot(self.curvature * np.asarray(pt, dtype=np.float64), self.constant)


ELECTRON = CalorimeterResolution(stochastic=0.10, constant=0.007)
"""Electromagnetic calorimetry: 10 %/√E ⊕ 0.7 % (ATLAS performance goals)."""

MUON = TrackerResolution(curvature=0.0005, constant=0.01)
"""Inner-detector tracking: 0.05 % pT ⊕ 1 % (ATLAS performance goals)."""

TAU_HAD = CalorimeterResolution(stochastic=0.50, constant=0.03)
"""The visible τ, measured like a jet by the hadronic calorimetry: 50 %/√E ⊕ 3 %."""

CENTRAL_JET = CalorimeterResolution(stochastic=0.50, constant=0.03)
"""Jets with |η| < 3.2, barrel and end-cap hadronic calorimetry: 50 %/√E ⊕ 3 %."""

FORWARD_JET = CalorimeterResolution(stochastic=1.00, constant=0.10)
"""Jets with 3.2 < |η| < 4.9, forward calorimetry: 100 %/√E ⊕ 10 %."""


def smear_momenta(
    momenta: np.ndarray, relative_sigma: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Scale each four-momentum by a Gaussian response 1 + σ·z (direction kept).

    Arguments:
        momenta: array (N, 4) of (px, py, pz, E) in GeV.
        relative_sigma: array (N,) of relative resolutions σ.
        rng: the random generator of the shard.

    Returns:
        A new array (N, 4); a response below zero is clipped to zero.

    Example:
        >>> p = np.array([[30.0, 0.0, 0.0, 30.0]])
        >>> smear_momenta(p, np.array([0.0]), np.random.default_rng(0)).tolist()
        [[30.0, 0.0, 0.0, 30.0]]
    """
    momenta = np.asarray(momenta, dtype=np.float64)
    response = 1.0 + np.asarray(relative_sigma) * rng.standard_normal(len(momenta))
    return momenta * np.clip(response, 0.0, None)[:, None]


def smear_soft_term(
    soft_x: np.ndarray, soft_y: np.ndarray, soft_sum_et: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add the soft term's resolution, σ = k √ΣE_T in x and in y, to its momentum sum.

    Arguments:
        soft_x, soft_y: arrays (N,): the summed px and py of the soft (unclustered)
            particles, GeV.
        soft_sum_et: array (N,): their scalar sum of E_T, GeV.
        rng: the random generator of the shard.

    Returns:
        The smeared (x, y) sums.

    Example:
        >>> x, y = smear_soft_term(np.zeros(1), np.zeros(1), np.zeros(1),
        ...                        np.random.default_rng(0))
        >>> x.tolist(), y.tolist()
        ([0.0], [0.0])

    References:
        ATLAS Collaboration, "Performance of missing transverse momentum reconstruction in
        proton-proton collisions at 7 TeV with ATLAS", Eur. Phys. J. C 72 (2012) 1844,
        arXiv:1108.5602 (resolution ≈ 0.5 √ΣE_T).
    """
    sigma = SOFT_TERM_K * np.sqrt(np.maximum(np.asarray(soft_sum_et, dtype=np.float64), 0.0))
    noise = rng.standard_normal((2, len(sigma)))
    return soft_x + sigma * noise[0], soft_y + sigma * noise[1]
