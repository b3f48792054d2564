"""A flat-array (numpy) fast path of the systematic shifts, for many small row subsets."""

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from robusthep.errors import DataError
from robusthep.sim.features import (
    HAD_PT_MIN,
    JET_PT_MIN,
    LEP_PT_MIN,
    UNDEFINED,
    derived_features,
)
from robusthep.sim.systematics import check_nuisances

__all__ = ["FlatEvents"]

_JETS = ("jet_pt", "jet_eta", "jet_phi")
_JET_SUMMARY = (
    "n_jets",
    "jet_all_pt",
    "jet_leading_pt",
    "jet_leading_eta",
    "jet_leading_phi",
    "jet_subleading_pt",
    "jet_subleading_eta",
    "jet_subleading_phi",
)


class FlatEvents:
    """A ``higgs`` table held as flat numpy arrays, shifted row subset by row subset.

    :func:`robusthep.sim.apply_systematics` works on awkward jet lists; its fixed cost
    (≈ 10–25 ms a call) dominates when it is called on thousands of small tables, as a
    pseudo-experiment study does. Here the jet lists are padded once into
    ``(events, most jets)`` arrays sorted by decreasing pT (a JES scale keeps the order, so
    the counted jets stay a prefix) and each event's jet momentum sum is precomputed; a
    shift then costs a few vectorised numpy operations on the chosen rows.

    :meth:`shift` gives what ``apply_systematics(select_rows(table, rows), nuisances,
    seed=seed)`` gives, to float rounding (the same soft-MET noise for the same seed), for
    every flat column; the jet lists themselves are not returned.

    Arguments:
        table: a ``higgs`` table: the 16 primary features' inputs (``had_*``, ``lep_*``,
            ``met``, ``met_phi``), the jet lists, ``label``, ``process``, ``weight``.

    Raises:
        DataError: a needed column is missing.

    Example:
        >>> table = dict(
        ...     had_pt=np.array([30.0, 27.0]), had_eta=np.zeros(2), had_phi=np.zeros(2),
        ...     lep_pt=np.array([25.0, 22.0]), lep_eta=np.zeros(2), lep_phi=np.full(2, 3.0),
        ...     met=np.array([10.0, 5.0]), met_phi=np.ones(2),
        ...     jet_pt=ak.Array([[40.0, 27.0], []]), jet_eta=ak.Array([[0.5, 1.0], []]),
        ...     jet_phi=ak.Array([[-2.0, 1.0], []]), label=np.zeros(2, int),
        ...     process=np.array(["ztautau"] * 2), weight=np.ones(2))
        >>> events = FlatEvents(table)
        >>> shifted = events.shift(np.array([0, 1, 0]), {"tes": 0.95, "jes": 0.95})
        >>> shifted["had_pt"].tolist(), shifted["n_jets"].tolist()  # 27 × 0.95 < 26: gone
        ([28.5, 28.5], [1, 1])
    """

    def __init__(self, table: Mapping[str, Any]) -> None:
        needed = (
            *(f"{p}_{v}" for p in ("had", "lep") for v in ("pt", "eta", "phi")),
            "met",
            "met_phi",
            *_JETS,
            "label",
            "process",
            "weight",
        )
        missing = [name for name in needed if name not in table]
        if missing:
            raise DataError(f"the table lacks the columns {missing} that systematic shifts need")
        self.columns = {
            name: np.asarray(values)
            for name, values in table.items()
            if name not in _JETS and name not in _JET_SUMMARY and _is_flat(values)
        }
        self.jet_pt, self.jet_eta, self.jet_phi = _padded_jets(table)
        self.jet_px = np.sum(self.jet_pt * np.cos(self.jet_phi), axis=1)
        self.jet_py = np.sum(self.jet_pt * np.sin(self.jet_phi), axis=1)
        process = self.columns["process"]
        self.is_ttbar = process == "ttbar"
        self.is_diboson = process == "diboson"
        self.is_background = self.columns["label"] == 0

    def __len__(self) -> int:
        return len(self.columns["weight"])

    def shift(
        self, rows: Sequence[int] | np.ndarray, nuisances: Mapping[str, float], *, seed: int = 0
    ) -> dict[str, np.ndarray]:
        """The rows ``rows`` (repeats allowed) shifted by ``nuisances``, selection re-applied.

        Arguments:
            rows: indices into the table, in the order wanted.
            nuisances: name → value; missing names take their nominal value.
            seed: seed of the soft-MET noise (as :func:`robusthep.sim.apply_systematics`).

        Returns:
            Every flat column of the table for the selected rows, with the primary and
            derived features recomputed and the weights scaled.
        """
        values = check_nuisances(nuisances)
        rows = np.asarray(rows, dtype=np.int64)
        columns = {name: values_[rows] for name, values_ in self.columns.items()}
        n = len(rows)
        tes, jes, soft = values["tes"], values["jes"], values["soft_met"]
        delta_x, delta_y = np.zeros(n), np.zeros(n)
        if tes != 1.0:
            change = (tes - 1.0) * columns["had_pt"]
            delta_x -= change * np.cos(columns["had_phi"])
            delta_y -= change * np.sin(columns["had_phi"])
            columns["had_pt"] = columns["had_pt"] * tes
        if jes != 1.0:
            delta_x -= (jes - 1.0) * self.jet_px[rows]
            delta_y -= (jes - 1.0) * self.jet_py[rows]
        if soft > 0.0:
            noise = np.random.default_rng(seed).normal(0.0, soft, (2, n))
            delta_x += noise[0]
            delta_y += noise[1]
        if tes != 1.0 or jes != 1.0 or soft > 0.0:
            met_x = columns["met"] * np.cos(columns["met_phi"]) + delta_x
            met_y = columns["met"] * np.sin(columns["met_phi"]) + delta_y
            columns["met"], columns["met_phi"] = np.hypot(met_x, met_y), np.arctan2(met_y, met_x)
        factor = np.ones(n)
        factor[self.is_ttbar[rows]] *= values["ttbar_scale"]
        factor[self.is_diboson[rows]] *= values["diboson_scale"]
        factor[self.is_background[rows]] *= values["bkg_scale"]
        columns["weight"] = columns["weight"] * factor
        keep = (columns["had_pt"] >= HAD_PT_MIN) & (columns["lep_pt"] >= LEP_PT_MIN)
        if not keep.all():
            rows = rows[keep]
            columns = {name: column[keep] for name, column in columns.items()}
        columns.update(self._jet_summary(rows, jes))
        columns.update(derived_features(columns))
        return columns

    def _jet_summary(self, rows: np.ndarray, jes: float) -> dict[str, np.ndarray]:
        """The jet features of ``rows`` after scaling every jet's pT by ``jes``."""
        pt = self.jet_pt[rows] * jes if jes != 1.0 else self.jet_pt[rows]
        counted = pt > JET_PT_MIN
        n_jets = counted.sum(axis=1)
        summary = {
            "n_jets": n_jets.astype(np.int64),
            "jet_all_pt": np.where(counted, pt, 0.0).sum(axis=1),
        }
        for name, values in (("pt", pt), ("eta", self.jet_eta[rows]), ("phi", self.jet_phi[rows])):
            for rank, position in (("leading", 0), ("subleading", 1)):
                summary[f"jet_{rank}_{name}"] = np.where(
                    n_jets > position, values[:, position], UNDEFINED
                )
        return summary


def _is_flat(values: Any) -> bool:
    """Whether a column is one value per event (not an awkward list column)."""
    return not isinstance(values, ak.Array) or values.ndim == 1


def _padded_jets(table: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jet pT, η, φ as (events, max(most jets, 2)) arrays, zero-padded, by decreasing pT."""
    pt = ak.Array(table["jet_pt"])
    width = max(int(ak.max(ak.num(pt, axis=1), initial=0)), 2)

    def pad(values: Any) -> np.ndarray:
        padded = ak.fill_none(ak.pad_none(ak.Array(values), width, axis=1, clip=True), 0.0)
        return np.asarray(ak.to_numpy(padded), dtype=np.float64).reshape(len(pt), width)

    jet_pt, jet_eta, jet_phi = (pad(table[name]) for name in _JETS)
    order = np.argsort(-jet_pt, axis=1, kind="stable")
    return tuple(np.take_along_axis(a, order, axis=1) for a in (jet_pt, jet_eta, jet_phi))
