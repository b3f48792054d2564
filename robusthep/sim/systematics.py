"""The six nuisance parameters of the HiggsML challenge as pure shifts of an event table."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from robusthep.data.dataset import select_rows
from robusthep.errors import ConfigError, DataError
from robusthep.sim.features import (
    HAD_PT_MIN,
    LEP_PT_MIN,
    derived_features,
    jet_features,
)

__all__ = [
    "NOMINAL",
    "NUISANCES",
    "PRIORS",
    "Prior",
    "apply_systematics",
    "check_nuisances",
    "sample_nuisances",
]

NUISANCES = ("tes", "jes", "soft_met", "ttbar_scale", "diboson_scale", "bkg_scale")
"""τ energy scale, jet energy scale, soft MET width (GeV), tt̄, diboson and background norms."""

NOMINAL = {
    "tes": 1.0,
    "jes": 1.0,
    "soft_met": 0.0,
    "ttbar_scale": 1.0,
    "diboson_scale": 1.0,
    "bkg_scale": 1.0,
}
"""The values that change nothing."""

# (lowest allowed, lowest included): tes and jes must stay positive, the rest non-negative.
_PHYSICAL = {"tes": (0.0, False), "jes": (0.0, False)} | {
    name: (0.0, True) for name in ("soft_met", "ttbar_scale", "diboson_scale", "bkg_scale")
}


@dataclass(frozen=True)
class Prior:
    """A nuisance prior: a normal (or log-normal) draw clipped to ``[low, high]``.

    Attributes:
        mean, sigma: of the normal; for a log-normal, of the logarithm.
        low, high: clip range (``high`` may be ``inf``).
        log_normal: draw ``exp(Normal(mean, sigma))`` instead.
    """

    mean: float
    sigma: float
    low: float
    high: float
    log_normal: bool = False

    def sample(self, rng: np.random.Generator, size: int | None = None) -> Any:
        """Draw from the prior."""
        value = rng.normal(self.mean, self.sigma, size)
        if self.log_normal:
            value = np.exp(value)
        return np.clip(value, self.low, self.high)


_INF = float("inf")
PRIORS = {
    "talk": {
        "tes": Prior(1.0, 0.01, 0.9, 1.1),
        "jes": Prior(1.0, 0.01, 0.9, 1.1),
        "soft_met": Prior(0.0, 3.0, 0.0, _INF),
        "ttbar_scale": Prior(1.0, 0.25, 0.0, _INF),
        "diboson_scale": Prior(1.0, 0.025, 0.0, _INF),
        "bkg_scale": Prior(1.0, 0.01, 0.0, _INF),
    },
    "challenge": {
        "tes": Prior(1.0, 0.01, 0.9, 1.1),
        "jes": Prior(1.0, 0.01, 0.9, 1.1),
        "soft_met": Prior(0.0, 1.0, 0.0, 5.0, log_normal=True),
        "ttbar_scale": Prior(1.0, 0.02, 0.8, 1.2),
        "diboson_scale": Prior(1.0, 0.25, 0.0, 2.0),
        "bkg_scale": Prior(1.0, 0.001, 0.99, 1.01),
    },
}
"""Two prior sets: ``talk`` (the table of the seed talk, each clipped to its range) and
``challenge`` (the final FAIR Universe challenge's sampling)."""


def sample_nuisances(prior_set: str, seed: int) -> dict[str, float]:
    """Draw one value of each nuisance parameter from a named prior set.

    Arguments:
        prior_set: ``"talk"`` or ``"challenge"``.
        seed: seed of the draw.

    Returns:
        nuisance name → value.

    Example:
        >>> values = sample_nuisances("challenge", seed=0)
        >>> sorted(values) == sorted(NUISANCES), 0.9 <= values["tes"] <= 1.1
        (True, True)
    """
    if prior_set not in PRIORS:
        raise ConfigError(f"unknown prior set {prior_set!r}; valid: {', '.join(PRIORS)}")
    rng = np.random.default_rng(seed)
    return {name: float(PRIORS[prior_set][name].sample(rng)) for name in NUISANCES}


def check_nuisances(nuisances: Mapping[str, float]) -> dict[str, float]:
    """Complete ``nuisances`` with nominal values and check each against its physical range.

    Raises:
        ConfigError: an unknown name, a non-finite value, tes or jes ≤ 0, or a negative
            soft_met or scale.

    Example:
        >>> check_nuisances({"tes": 1.02})["tes"], check_nuisances({})["jes"]
        (1.02, 1.0)
        >>> check_nuisances({"tes": 0.0})
        Traceback (most recent call last):
        ...
        robusthep.errors.ConfigError: nuisance tes = 0.0 is out of range; valid: tes > 0
    """
    values = dict(NOMINAL)
    for name, value in nuisances.items():
        if name not in NOMINAL:
            raise ConfigError(f"unknown nuisance {name!r}; valid: {', '.join(NUISANCES)}")
        low, inclusive = _PHYSICAL[name]
        value = float(value)
        if not np.isfinite(value) or value < low or (value == low and not inclusive):
            bound = f"{name} ≥ {low:g}" if inclusive else f"{name} > {low:g}"
            raise ConfigError(f"nuisance {name} = {value!r} is out of range; valid: {bound}")
        values[name] = value
    return values


def _shift_met(
    columns: dict[str, Any], delta_x: np.ndarray, delta_y: np.ndarray
) -> dict[str, np.ndarray]:
    met_x = columns["met"] * np.cos(columns["met_phi"]) + delta_x
    met_y = columns["met"] * np.sin(columns["met_phi"]) + delta_y
    return {"met": np.hypot(met_x, met_y), "met_phi": np.arctan2(met_y, met_x)}


def apply_systematics(
    table: Mapping[str, Any], nuisances: Mapping[str, float], *, seed: int = 0
) -> dict[str, Any]:
    """Shift an event table by nuisance values; return a new table, never touching ``table``.

    - ``tes`` scales the visible τ pT; ``jes`` scales every stored jet (and so
      ``jet_all_pt``). MET takes the opposite of the transverse momentum each adds.
    - ``soft_met`` adds Gaussian noise of that width (GeV) to MET x and y, drawn from
      ``seed``: the same seed gives the same noise.
    - ``ttbar_scale``, ``diboson_scale`` scale their process's weights, ``bkg_scale`` every
      background's.
    - Then the selection is applied again (τ pT ≥ 26, lepton pT ≥ 20 GeV; jets > 26 GeV
      count), and every derived feature is recomputed. An event's MET is rebuilt only when
      a shift moves it, so nominal values return the input values bit for bit.

    Arguments:
        table: a ``higgs`` table (columns as generated, including the jet lists).
        nuisances: name → value; missing names take their nominal value.
        seed: seed of the soft-MET noise.

    Returns:
        The shifted table (fewer rows when events leave the selection).

    Example:
        >>> table = dict(
        ...     had_pt=np.array([30.0]), had_eta=np.zeros(1), had_phi=np.zeros(1),
        ...     lep_pt=np.array([25.0]), lep_eta=np.zeros(1), lep_phi=np.array([3.0]),
        ...     met=np.array([10.0]), met_phi=np.array([1.0]), jet_pt=ak.Array([[40.0]]),
        ...     jet_eta=ak.Array([[0.5]]), jet_phi=ak.Array([[-2.0]]),
        ...     label=np.zeros(1, int), process=np.array(["ztautau"]), weight=np.ones(1))
        >>> shifted = apply_systematics(table, {"tes": 1.01, "bkg_scale": 1.1})
        >>> float(shifted["had_pt"][0]), float(shifted["weight"][0]), float(table["had_pt"][0])
        (30.3, 1.1, 30.0)
    """
    values = check_nuisances(nuisances)
    missing = [
        name for name in ("had_pt", "met", "jet_pt", "weight", "process") if name not in table
    ]
    if missing:
        raise DataError(f"the table lacks the columns {missing} that systematic shifts need")
    columns = dict(table)
    delta_x = np.zeros(len(columns["had_pt"]))
    delta_y = np.zeros_like(delta_x)
    if values["tes"] != 1.0:
        change = (values["tes"] - 1.0) * np.asarray(columns["had_pt"])
        delta_x -= change * np.cos(columns["had_phi"])
        delta_y -= change * np.sin(columns["had_phi"])
        columns["had_pt"] = columns["had_pt"] * values["tes"]
    if values["jes"] != 1.0:
        change = (values["jes"] - 1.0) * columns["jet_pt"]
        delta_x -= np.asarray(ak.sum(change * np.cos(columns["jet_phi"]), axis=1))
        delta_y -= np.asarray(ak.sum(change * np.sin(columns["jet_phi"]), axis=1))
        columns["jet_pt"] = columns["jet_pt"] * values["jes"]
    if values["soft_met"] > 0.0:
        noise = np.random.default_rng(seed).normal(0.0, values["soft_met"], (2, len(delta_x)))
        delta_x += noise[0]
        delta_y += noise[1]
    if values["tes"] != 1.0 or values["jes"] != 1.0 or values["soft_met"] > 0.0:
        columns.update(_shift_met(columns, delta_x, delta_y))
    process = np.asarray(columns["process"])
    factor = np.ones(len(delta_x))
    factor[process == "ttbar"] *= values["ttbar_scale"]
    factor[process == "diboson"] *= values["diboson_scale"]
    factor[np.asarray(columns["label"]) == 0] *= values["bkg_scale"]
    columns["weight"] = np.asarray(columns["weight"]) * factor
    keep = (np.asarray(columns["had_pt"]) >= HAD_PT_MIN) & (
        np.asarray(columns["lep_pt"]) >= LEP_PT_MIN
    )
    columns = select_rows(columns, keep)
    columns.update(jet_features(columns["jet_pt"], columns["jet_eta"], columns["jet_phi"]))
    columns.update(derived_features(columns))
    return columns
