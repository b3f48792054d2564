"""The HiggsML features: jet summaries, derived quantities and the PRI_/DER_ name mapping."""

from collections.abc import Mapping

import awkward as ak
import numpy as np

__all__ = [
    "CHALLENGE_NAMES",
    "DERIVED_FEATURES",
    "FEATURES",
    "HAD_PT_MIN",
    "JET_PT_MIN",
    "LEP_PT_MIN",
    "PRIMARY_FEATURES",
    "UNDEFINED",
    "derived_features",
    "jet_features",
    "to_challenge_names",
]

HAD_PT_MIN = 26.0
"""A visible hadronic τ needs pT ≥ 26 GeV (the challenge's selection)."""

LEP_PT_MIN = 20.0
"""The electron or muon needs pT ≥ 20 GeV."""

JET_PT_MIN = 26.0
"""A jet counts (``n_jets``, leading, subleading, ``jet_all_pt``) with pT > 26 GeV."""

UNDEFINED = float("nan")
"""Every undefined feature (a jet that is not there, a quantity needing two jets) is NaN."""

PRIMARY_FEATURES = (
    "had_pt",
    "had_eta",
    "had_phi",
    "lep_pt",
    "lep_eta",
    "lep_phi",
    "met",
    "met_phi",
    "n_jets",
    "jet_leading_pt",
    "jet_leading_eta",
    "jet_leading_phi",
    "jet_subleading_pt",
    "jet_subleading_eta",
    "jet_subleading_phi",
    "jet_all_pt",
)
DERIVED_FEATURES = (
    "mass_transverse_met_lep",
    "mass_vis",
    "pt_h",
    "deltaeta_jet_jet",
    "mass_jet_jet",
    "prodeta_jet_jet",
    "deltar_had_lep",
    "pt_tot",
    "sum_pt",
    "pt_ratio_lep_had",
    "met_phi_centrality",
    "lep_eta_centrality",
)
FEATURES = PRIMARY_FEATURES + DERIVED_FEATURES
"""The 28 features of the challenge, in its order: 16 primary then 12 derived."""

CHALLENGE_NAMES = {
    **{name: f"PRI_{name}" for name in PRIMARY_FEATURES},
    **{name: f"DER_{name}" for name in DERIVED_FEATURES},
}
"""Our column name → the FAIR Universe HiggsML challenge's name (``had_pt`` → ``PRI_had_pt``)."""

_SMALL = 1e-4  # the challenge's shift that keeps a centrality finite when its angles coincide


def jet_features(
    jet_pt: ak.Array, jet_eta: ak.Array, jet_phi: ak.Array, *, pt_min: float = JET_PT_MIN
) -> dict[str, np.ndarray]:
    """Summarise jet lists (sorted by decreasing pT) as the challenge's primary jet features.

    Arguments:
        jet_pt, jet_eta, jet_phi: awkward arrays of per-event jet lists, sorted by pT.
        pt_min: jets at or below this pT (GeV) are not counted.

    Returns:
        ``n_jets``, ``jet_leading_{pt,eta,phi}``, ``jet_subleading_{pt,eta,phi}`` (NaN when
        the jet is missing) and ``jet_all_pt`` (scalar sum of the counted jets' pT).

    Example:
        >>> pt, eta, phi = ak.Array([[50.0, 30.0, 21.0], []]), ak.Array([[1.0, -1.0, 0.0], []]), \
ak.Array([[0.0, 1.0, 2.0], []])
        >>> out = jet_features(pt, eta, phi)
        >>> out["n_jets"].tolist(), out["jet_all_pt"].tolist(), out["jet_subleading_pt"].tolist()
        ([2, 0], [80.0, 0.0], [30.0, nan])
    """
    keep = jet_pt > pt_min
    columns: dict[str, np.ndarray] = {
        "n_jets": np.asarray(ak.sum(keep, axis=1), dtype=np.int64),
        "jet_all_pt": np.asarray(ak.sum(jet_pt[keep], axis=1), dtype=np.float64),
    }
    for name, values in (("pt", jet_pt), ("eta", jet_eta), ("phi", jet_phi)):
        padded = ak.pad_none(values[keep], 2, axis=1, clip=True)
        for rank, position in (("leading", 0), ("subleading", 1)):
            column = ak.fill_none(padded[:, position], UNDEFINED)
            columns[f"jet_{rank}_{name}"] = np.asarray(column, dtype=np.float64)
    return columns


def _delta_phi(phi_a: np.ndarray, phi_b: np.ndarray) -> np.ndarray:
    return np.mod(phi_a - phi_b + np.pi, 2 * np.pi) - np.pi


def _momentum(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, ...]:
    """(px, py, pz, E) of a massless object; zero where pT is undefined (a missing jet)."""
    pt = np.nan_to_num(pt, nan=0.0)
    eta = np.nan_to_num(eta, nan=0.0)
    phi = np.nan_to_num(phi, nan=0.0)
    return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)


def _mass(*momenta: tuple[np.ndarray, ...]) -> np.ndarray:
    px, py, pz, energy = (sum(parts) for parts in zip(*momenta, strict=True))
    return np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))


def _met_phi_centrality(
    met_phi: np.ndarray, lep_phi: np.ndarray, had_phi: np.ndarray
) -> np.ndarray:
    def centrality(lep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        side = np.sign(np.sin(had_phi - lep))
        a = np.sin(met_phi - lep) * side
        b = np.sin(had_phi - met_phi) * side
        return a + b, np.hypot(a, b)

    numerator, denominator = centrality(lep_phi)
    degenerate = denominator == 0
    if np.any(degenerate):
        shifted_numerator, shifted_denominator = centrality(lep_phi + _SMALL)
        numerator = np.where(degenerate, shifted_numerator, numerator)
        denominator = np.where(degenerate, shifted_denominator, denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, UNDEFINED)


def derived_features(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Compute the 12 derived features from the 16 primary ones.

    Objects are treated as massless, as in the challenge; jets that are not there
    contribute nothing to sums, and features needing two jets are NaN with fewer.

    Arguments:
        columns: a table holding every name in :data:`PRIMARY_FEATURES`.

    Returns:
        The columns named in :data:`DERIVED_FEATURES`.

    Example:
        >>> nan = float("nan")
        >>> row = dict(had_pt=[40.0], had_eta=[0.0], had_phi=[0.0], lep_pt=[30.0],
        ...            lep_eta=[0.0], lep_phi=[np.pi], met=[10.0], met_phi=[0.0],
        ...            n_jets=[0], jet_leading_pt=[nan], jet_leading_eta=[nan],
        ...            jet_leading_phi=[nan], jet_subleading_pt=[nan],
        ...            jet_subleading_eta=[nan], jet_subleading_phi=[nan], jet_all_pt=[0.0])
        >>> out = derived_features({k: np.array(v) for k, v in row.items()})
        >>> [round(float(out[name][0]), 3) for name in ("mass_vis", "pt_h", "mass_jet_jet")]
        [69.282, 20.0, nan]

    References:
        Adam-Bourdarios et al., "The Higgs boson machine learning challenge", JMLR W&CP 42
        (2015) 19 (definitions of the DER_ features).
    """
    c = {name: np.asarray(columns[name], dtype=np.float64) for name in PRIMARY_FEATURES}
    had = _momentum(c["had_pt"], c["had_eta"], c["had_phi"])
    lep = _momentum(c["lep_pt"], c["lep_eta"], c["lep_phi"])
    leading = _momentum(c["jet_leading_pt"], c["jet_leading_eta"], c["jet_leading_phi"])
    subleading = _momentum(c["jet_subleading_pt"], c["jet_subleading_eta"], c["jet_subleading_phi"])
    met_x, met_y = c["met"] * np.cos(c["met_phi"]), c["met"] * np.sin(c["met_phi"])
    two_jets = c["n_jets"] >= 2

    transverse = (c["met"] + c["lep_pt"]) ** 2 - (met_x + lep[0]) ** 2 - (met_y + lep[1]) ** 2
    eta_gap = c["jet_leading_eta"] - c["jet_subleading_eta"]
    eta_mean = 0.5 * (c["jet_leading_eta"] + c["jet_subleading_eta"])
    eta_gap_squared = np.where(eta_gap == 0, _SMALL, eta_gap**2)
    with np.errstate(invalid="ignore"):
        lep_centrality = np.exp(-4.0 / eta_gap_squared * (c["lep_eta"] - eta_mean) ** 2)
    return {
        "mass_transverse_met_lep": np.sqrt(np.maximum(transverse, 0.0)),
        "mass_vis": _mass(had, lep),
        "pt_h": np.hypot(had[0] + lep[0] + met_x, had[1] + lep[1] + met_y),
        "deltaeta_jet_jet": np.where(two_jets, np.abs(eta_gap), UNDEFINED),
        "mass_jet_jet": np.where(two_jets, _mass(leading, subleading), UNDEFINED),
        "prodeta_jet_jet": np.where(
            two_jets, c["jet_leading_eta"] * c["jet_subleading_eta"], UNDEFINED
        ),
        "deltar_had_lep": np.hypot(
            c["lep_eta"] - c["had_eta"], _delta_phi(c["lep_phi"], c["had_phi"])
        ),
        "pt_tot": np.hypot(
            had[0] + lep[0] + met_x + leading[0] + subleading[0],
            had[1] + lep[1] + met_y + leading[1] + subleading[1],
        ),
        "sum_pt": c["had_pt"] + c["lep_pt"] + c["jet_all_pt"],
        "pt_ratio_lep_had": c["lep_pt"] / c["had_pt"],
        "met_phi_centrality": _met_phi_centrality(c["met_phi"], c["lep_phi"], c["had_phi"]),
        "lep_eta_centrality": np.where(two_jets, lep_centrality, UNDEFINED),
    }


def to_challenge_names(table: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename the 28 feature columns to the challenge's PRI_/DER_ names (values unchanged).

    Other columns (``label``, ``weight``, ``process``, truth, jet lists) keep their names.

    Arguments:
        table: a robusthep table.

    Returns:
        A new dict with renamed keys, NaN still marking undefined values.

    Example:
        >>> sorted(to_challenge_names({"had_pt": np.ones(1), "weight": np.ones(1)}))
        ['PRI_had_pt', 'weight']
    """
    return {CHALLENGE_NAMES.get(name, name): values for name, values in table.items()}
