"""Pseudo-experiments: Poisson counts per process drawn from a held-out pool, then shifted."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from robusthep.data.dataset import select_rows
from robusthep.errors import ConfigError, DataError
from robusthep.infer.errors import EmptyPseudoExperimentError
from robusthep.sim.flat_events import FlatEvents
from robusthep.sim.systematics import apply_systematics, check_nuisances

__all__ = ["PseudoExperiment", "PseudoExperimentSampler", "expected_yields"]

SIGNAL = "htautau"
_SHAPE = ("tes", "jes", "soft_met")


def expected_yields(
    yields: Mapping[str, float], mu: float, nuisances: Mapping[str, float]
) -> dict[str, float]:
    """The expected number of events per process for μ and the three scale nuisances.

    The signal scales with μ; every background with ``bkg_scale``, tt̄ and diboson also with
    their own scale (as :func:`robusthep.sim.apply_systematics` scales weights).

    Example:
        >>> expected_yields({"htautau": 10.0, "ttbar": 20.0}, 2.0, {"ttbar_scale": 1.5})
        {'htautau': 20.0, 'ttbar': 30.0}
    """
    values = check_nuisances(nuisances)
    scales = {
        SIGNAL: mu,
        "ttbar": values["ttbar_scale"] * values["bkg_scale"],
        "diboson": values["diboson_scale"] * values["bkg_scale"],
    }
    return {
        name: float(value) * scales.get(name, values["bkg_scale"]) for name, value in yields.items()
    }


@dataclass(frozen=True)
class PseudoExperiment:
    """One pseudo-experiment: unweighted events and the truth they were drawn with.

    Attributes:
        table: the events (columns as the pool's, ``weight`` = 1), after the shape shifts.
        mu: the true signal strength.
        nuisances: the true values of the six nuisances.
        counts: events drawn per process (before shifts moved some out of the selection).
        seed: the seed that reproduces it.
    """

    table: dict[str, Any]
    mu: float
    nuisances: dict[str, float]
    counts: dict[str, int]
    seed: int

    def __len__(self) -> int:
        return len(self.table["weight"])


class PseudoExperimentSampler:
    """Draws pseudo-experiments from a held-out pool of simulated events.

    For μ and the six nuisance values: the expected yield of each process (``yields`` at
    μ = 1 and nominal nuisances, scaled by :func:`expected_yields`), a Poisson count per
    process, that many events drawn uniformly with replacement from the process's pool,
    then τ energy, jet energy and soft-MET shifts applied (events may leave the selection).

    The shifts go through :class:`robusthep.sim.FlatEvents` when the pool has the jet
    lists (``flat=True``, the default): the pool is flattened once and each
    pseudo-experiment costs ≈ 0.2 ms instead of the ≈ 15 ms of
    :func:`robusthep.sim.apply_systematics` on awkward arrays, with the same events and the
    same numbers to float rounding. Its tables then hold every flat column of the pool
    (the 28 features recomputed) but not the jet lists.

    *Why the pool must be much larger than a pseudo-experiment.* Two pseudo-experiments
    drawn from one pool of ``n`` events of a process, each with ``ν`` expected, share on
    average ``ν²/n`` events, and each bin's count in one is correlated with the other's
    with coefficient ``≈ ν/n`` (both follow the pool's own statistical fluctuation). A
    fraction ``ν/n`` ≤ 0.1 keeps that below 10%; the sampler refuses a larger one
    (``max_overlap``), evaluated at μ = ``mu_max``. The fluctuation of the whole pool is a
    common offset of every pseudo-experiment; the templates of a fit come from a separate
    sample, so it acts like a template statistical uncertainty of relative size
    ``sqrt(ν/n)`` of the statistical error.

    Arguments:
        pool: an event table (column → array) with ``process`` and ``weight``, never used
            to train or to build templates.
        yields: expected events per process at μ = 1 and nominal nuisances.
        max_overlap: the largest allowed ``ν/n`` of any process.
        mu_max: the largest μ the sampler will be asked for.
        flat: shift pseudo-experiments with the flat-array fast path (when the pool has
            the jet lists); ``False`` uses :func:`robusthep.sim.apply_systematics`.

    Example:
        >>> pool = {"process": np.array(["htautau"] * 50 + ["ztautau"] * 50),
        ...         "weight": np.ones(100), "had_pt": np.full(100, 30.0)}
        >>> sampler = PseudoExperimentSampler(pool, {"htautau": 1.0, "ztautau": 4.0}, mu_max=3)
        >>> experiment = sampler.sample(1.0, {}, seed=1, shifts=False)
        >>> experiment.counts
        {'htautau': 2, 'ztautau': 5}
    """

    def __init__(
        self,
        pool: Mapping[str, Any],
        yields: Mapping[str, float],
        *,
        max_overlap: float = 0.1,
        mu_max: float = 3.0,
        flat: bool = True,
    ) -> None:
        for column in ("process", "weight"):
            if column not in pool:
                raise DataError(f"the pool lacks the column {column!r}")
        self.pool = dict(pool)
        processes = np.asarray(pool["process"])
        self.indices = {name: np.flatnonzero(processes == name) for name in yields}
        self.yields = {name: float(value) for name, value in yields.items()}
        for name, value in self.yields.items():
            if not np.isfinite(value) or value < 0:
                raise ConfigError(f"the yield of {name} must be finite and ≥ 0, got {value!r}")
            if len(self.indices[name]) == 0 and value > 0:
                raise DataError(f"the pool holds no {name} event but its yield is {value:g}")
        self.mu_max = float(mu_max)
        self.max_overlap = float(max_overlap)
        self.flat = FlatEvents(pool) if flat and "jet_pt" in pool else None
        worst = self.overlaps()
        for name, fraction in worst.items():
            if fraction > max_overlap * (1 + 1e-12):  # yield = max_overlap · n is allowed
                allowed = max_overlap * len(self.indices[name])
                raise ConfigError(
                    f"a pseudo-experiment would use {fraction:.2f} of the {name} pool "
                    f"({len(self.indices[name])} events) > max_overlap = {max_overlap:g}: "
                    f"pseudo-experiments would be correlated; lower its yield to ≤ "
                    f"{allowed / (self.mu_max if name == SIGNAL else 1.0):.3g} or use a larger pool"
                )

    def overlaps(self) -> dict[str, float]:
        """``ν/n`` per process at μ = ``mu_max``: the expected share of its pool one uses."""
        return {
            name: (value * (self.mu_max if name == SIGNAL else 1.0))
            / max(len(self.indices[name]), 1)
            for name, value in self.yields.items()
        }

    def sample(
        self,
        mu: float,
        nuisances: Mapping[str, float],
        *,
        seed: int,
        shifts: bool = True,
        allow_empty: bool = False,
    ) -> PseudoExperiment:
        """Draw one pseudo-experiment.

        Arguments:
            mu: the true signal strength, in ``[0, mu_max]``.
            nuisances: true nuisance values (missing ones nominal).
            seed: seeds the counts, the events drawn and the soft-MET noise.
            shifts: apply the tes/jes/soft_met shifts (needs the full ``higgs`` columns).
            allow_empty: return a zero-event pseudo-experiment instead of raising.

        Returns:
            A :class:`PseudoExperiment`.

        Raises:
            EmptyPseudoExperimentError: no event was drawn (or none passed the selection).
        """
        if not 0.0 <= mu <= self.mu_max:
            raise ConfigError(f"mu = {mu!r} is outside [0, {self.mu_max:g}] of this sampler")
        values = check_nuisances(nuisances)
        rng = np.random.default_rng(seed)
        chosen, counts = [], {}
        for name, nu in expected_yields(self.yields, mu, values).items():
            counts[name] = int(rng.poisson(nu))
            chosen.append(rng.choice(self.indices[name], size=counts[name], replace=True))
        rows = np.concatenate(chosen) if chosen else np.zeros(0, dtype=int)
        rows = rows[rng.permutation(len(rows))]
        shape = {name: values[name] for name in _SHAPE}
        if shifts and len(rows) and self.flat is not None:
            table = self.flat.shift(rows, shape, seed=int(rng.integers(2**31)))
            table["weight"] = np.ones(len(table["weight"]))
        else:
            table = select_rows(self.pool, rows)
            table["weight"] = np.ones(len(rows))
            if shifts and len(rows):
                table = apply_systematics(table, shape, seed=int(rng.integers(2**31)))
        experiment = PseudoExperiment(table, float(mu), values, counts, seed)
        if len(experiment) == 0 and not allow_empty:
            raise EmptyPseudoExperimentError(
                f"the pseudo-experiment with mu = {mu:g}, seed = {seed} has no event "
                f"(counts drawn {counts}); a zero-event data set cannot be measured"
            )
        return experiment
