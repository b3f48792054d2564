"""Jet substructure from constituents: soft-drop mass, N-subjettiness, D2 (FastJet contrib)."""

import awkward as ak
import numpy as np

from robusthep.errors import ConfigError
from robusthep.sim._stdout import captured_stdout

__all__ = ["SUBSTRUCTURE_NAMES", "jet_substructure", "relative_constituents"]

SUBSTRUCTURE_NAMES = ("mass_sd", "tau1", "tau2", "tau3", "d2")
"""The keys :func:`jet_substructure` returns."""

_RECLUSTER_RADIUS = 10.0  # C/A with R far above any ΔR in a jet merges all into one
_FOUR = ("px", "py", "pz", "E")


def _four_momenta(constituents: ak.Array) -> ak.Array:
    return ak.zip({name: ak.values_astype(constituents[name], np.float64) for name in _FOUR})


def jet_substructure(
    constituents: ak.Array,
    radius: float,
    *,
    soft_drop_beta: float = 0.0,
    soft_drop_zcut: float = 0.1,
) -> dict[str, np.ndarray]:
    """Groomed mass and shape observables of each jet, from its constituents.

    Each jet's constituents are reclustered with Cambridge/Aachen into one jet, on which
    FastJet contrib computes:

    - ``mass_sd``: the soft-drop mass, GeV. Declustering the C/A tree, the softer branch
      is dropped while ``min(pT1, pT2) / (pT1 + pT2) < zcut · (ΔR12 / R0)^β``
      (R0 = ``radius``); β = 0, zcut = 0.1 is the modified mass-drop tagger.
    - ``tau1``, ``tau2``, ``tau3``: N-subjettiness, β = 1, normalised,
      τ_N = Σ_i pT_i min_k ΔR_ik / Σ_i pT_i R0, with "one-pass" kT axes (exclusive-kT
      axes moved once to minimise τ_N).
    - ``d2``: the energy-correlation ratio D2 = e3 / e2³ with β = 1, where
      e2 = Σ_{i<j} z_i z_j ΔR_ij and e3 = Σ_{i<j<k} z_i z_j z_k ΔR_ij ΔR_ik ΔR_jk,
      z_i = pT_i / Σ pT.

    Arguments:
        constituents: awkward array ``[jets][constituents]`` of records with ``px``, ``py``,
            ``pz``, ``E`` (GeV).
        radius: the jet radius R0.
        soft_drop_beta, soft_drop_zcut: soft-drop parameters.

    Returns:
        Name → array (jets,), names :data:`SUBSTRUCTURE_NAMES`.

    Example:
        >>> pt, eta = np.array([100.0, 100.0]), np.array([0.0, 0.5])
        >>> jet = ak.Array([[{"px": p, "py": 0.0, "pz": p * np.sinh(e), "E": p * np.cosh(e)}
        ...                  for p, e in zip(pt, eta)]])
        >>> values = jet_substructure(jet, 1.0)
        >>> round(float(values["mass_sd"][0]), 2), float(values["tau2"][0])
        (50.52, 0.0)

    References:
        Larkoski, Marzani, Soyez, Thaler, "Soft drop", JHEP 05 (2014) 146,
        arXiv:1402.2657; Thaler, Van Tilburg, "Identifying boosted objects with
        N-subjettiness", JHEP 03 (2011) 015, arXiv:1011.2268, and JHEP 02 (2012) 093,
        arXiv:1108.2701 (one-pass axes); Larkoski, Moult, Neill, "Power counting to
        better jet observables", JHEP 12 (2014) 009, arXiv:1409.6298 (D2);
        Larkoski, Salam, Thaler, JHEP 06 (2013) 108, arXiv:1305.0007 (energy correlators).
    """
    if not radius > 0:
        raise ConfigError(f"jet radius must be positive, got {radius!r}")
    if len(constituents) == 0:
        return {name: np.zeros(0) for name in SUBSTRUCTURE_NAMES}
    if ak.min(ak.num(constituents)) < 1:
        raise ConfigError("every jet needs at least one constituent")
    import fastjet

    definition = fastjet.JetDefinition(fastjet.cambridge_algorithm, _RECLUSTER_RADIUS)
    with captured_stdout():  # FastJet prints its banner on first use
        sequence = fastjet.ClusterSequence(_four_momenta(constituents), definition)
        groomed = sequence.exclusive_jets_softdrop_grooming(
            njets=1, beta=soft_drop_beta, symmetry_cut=soft_drop_zcut, R0=radius
        )
        taus = sequence.njettiness(
            measure_definition="NormalizedMeasure",
            axes_definition="OnePass_KT_Axes",
            njets=[1, 2, 3],
            beta=1.0,
            R0=radius,
        )
        d2 = sequence.exclusive_jets_energy_correlator(njets=1, beta=1.0, func="D2")
    tau = np.asarray(ak.to_numpy(taus), dtype=np.float64).reshape(-1, 3)
    return {
        "mass_sd": np.asarray(groomed.msoftdrop, dtype=np.float64),
        "tau1": tau[:, 0],
        "tau2": tau[:, 1],
        "tau3": tau[:, 2],
        "d2": np.asarray(d2, dtype=np.float64),
    }


def relative_constituents(
    constituents: ak.Array, jet_eta: np.ndarray, jet_phi: np.ndarray, maximum: int
) -> dict[str, ak.Array]:
    """Constituents as (pT, Δη, Δφ) to the jet axis, hardest first, at most ``maximum``.

    Arguments:
        constituents: awkward array ``[jets][constituents]`` of ``px``, ``py``, ``pz``, ``E``.
        jet_eta, jet_phi: arrays (jets,) of the jet axes.
        maximum: how many constituents to keep per jet (the hardest).

    Returns:
        ``{"pt", "deta", "dphi"}``: awkward list arrays; Δφ is wrapped into [−π, π).

    Example:
        >>> jet = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0},
        ...                  {"px": 0.0, "py": 3.0, "pz": 0.0, "E": 3.0}]])
        >>> out = relative_constituents(jet, np.zeros(1), np.array([0.5]), 1)
        >>> out["pt"].tolist(), round(float(out["dphi"][0][0]), 4)
        ([[3.0]], 1.0708)
    """
    if maximum < 1:
        raise ConfigError(f"the maximum number of constituents must be ≥ 1, got {maximum}")
    pt = np.hypot(constituents.px, constituents.py)
    order = ak.argsort(pt, axis=1, ascending=False)[:, :maximum]
    pt, kept = pt[order], constituents[order]
    eta = np.arcsinh(kept.pz / pt)
    dphi = np.arctan2(kept.py, kept.px) - jet_phi
    return {
        "pt": pt,
        "deta": eta - jet_eta,
        "dphi": (dphi + np.pi) % (2 * np.pi) - np.pi,
    }
