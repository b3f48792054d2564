"""Designed decorrelation: a substructure variable minus its linear trend in ρ′ (DDT), or
mapped to its background percentile at each ρ′."""

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robusthep.audit._arrays import event_arrays
from robusthep.errors import ConfigError, DataError

__all__ = ["DesignedDecorrelation", "QuantileDecorrelation", "scaling_variable"]

Scaling = Literal["rho_prime", "rho"]


def scaling_variable(mass: Any, pt: Any, kind: Scaling = "rho_prime") -> np.ndarray:
    """The jet scaling variable: ρ′ = ln(m²/(pT·1 GeV)) (DDT's) or ρ = ln(m²/pT²).

    Arguments:
        mass: jet masses in GeV (> 0).
        pt: jet transverse momenta in GeV (> 0).
        kind: ``"rho_prime"`` or ``"rho"``.

    Returns:
        An array of the variable, one entry a jet.

    Example:
        >>> scaling_variable([80.0], [400.0]).round(3).tolist()
        [2.773]
        >>> scaling_variable([80.0], [400.0], "rho").round(3).tolist()
        [-3.219]
    """
    if kind not in ("rho_prime", "rho"):
        raise ConfigError(f"unknown scaling variable {kind!r}; use 'rho_prime' or 'rho'")
    mass = np.asarray(mass, dtype=np.float64).reshape(-1)
    pt = np.asarray(pt, dtype=np.float64).reshape(-1)
    if mass.shape != pt.shape:
        raise DataError(f"{mass.size} masses but {pt.size} pT values; give one of each a jet")
    if not (np.all(mass > 0) and np.all(pt > 0)):
        raise DataError(
            "the scaling variable needs masses and pT > 0 (and finite); drop jets with m ≤ 0 "
            "(e.g. groomed to nothing) first"
        )
    return np.log(mass**2 / (pt if kind == "rho_prime" else pt**2))


@dataclass(frozen=True)
class DesignedDecorrelation:
    """τ′ = τ − slope·(ρ′ − ρ′₀): the designed decorrelated tagger (DDT) of a variable τ.

    ``fit`` finds the slope by weighted least squares of τ on ρ′ over the background, so the
    background's linear trend of τ′ in ρ′ is zero by construction (its profile is flat up
    to the curvature of the real dependence); a cut on τ′ then keeps about the same
    fraction of background at every ρ′, hence every mass at fixed pT.

    Attributes:
        slope: the fitted dτ/dρ′ on background.
        offset: ρ′₀, the background's weighted mean ρ′ (keeps τ′ near τ's scale).
        kind: the scaling variable, ``"rho_prime"`` or ``"rho"``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mass, pt = rng.uniform(50, 300, 2000), rng.uniform(300, 900, 2000)
        >>> rho = scaling_variable(mass, pt)
        >>> tau = 0.3 + 0.08 * rho + rng.normal(0, 0.05, 2000)
        >>> ddt = DesignedDecorrelation.fit(tau, mass, pt, labels=np.zeros(2000))
        >>> round(ddt.slope, 2)
        0.08

    References:
        Dolen, Harris, Marzani, Rappoccio, Tran, "Thinking outside the ROCs: Designing
        Decorrelated Taggers (DDT) for jet substructure", JHEP 05 (2016) 156,
        arXiv:1603.00027.
    """

    slope: float
    offset: float
    kind: Scaling = "rho_prime"

    @classmethod
    def fit(
        cls,
        variable: Any,
        mass: Any,
        pt: Any,
        labels: Any,
        weights: Any = None,
        *,
        kind: Scaling = "rho_prime",
        fit_range: tuple[float, float] = (-math.inf, math.inf),
    ) -> "DesignedDecorrelation":
        """Fit the slope of ``variable`` against the scaling variable on background.

        Arguments:
            variable: the substructure variable τ (e.g. τ21), one entry a jet.
            mass, pt: the jets' mass and pT in GeV.
            labels: 1 signal, 0 background; only background enters the fit.
            weights: per-jet weights, or None.
            kind: ``"rho_prime"`` (ρ′ = ln(m²/(pT·1 GeV)), the paper's) or ``"rho"``.
            fit_range: only background jets with the scaling variable in this range enter
                (the paper fits where τ21 is linear in ρ′).

        Returns:
            The fitted :class:`DesignedDecorrelation`.
        """
        rho = scaling_variable(mass, pt, kind)
        tau, signal, w, rho = event_arrays(variable, labels, weights, need_signal=False, rho=rho)
        chosen = ~signal & (rho >= fit_range[0]) & (rho <= fit_range[1]) & (w > 0)
        if chosen.sum() < 2 or np.ptp(rho[chosen]) == 0:
            raise DataError(
                f"the DDT fit needs background jets at two or more values of {kind} inside "
                f"{fit_range}; got {int(chosen.sum())}: widen fit_range or add background"
            )
        w, tau, rho = w[chosen], tau[chosen], rho[chosen]
        mean_rho = float(np.average(rho, weights=w))
        centred = rho - mean_rho
        slope = float(np.sum(w * centred * tau) / np.sum(w * centred**2))
        return cls(slope=slope, offset=mean_rho, kind=kind)

    def transform(self, variable: Any, mass: Any, pt: Any) -> np.ndarray:
        """τ′ = τ − slope·(ρ′ − ρ′₀) of the given jets."""
        rho = scaling_variable(mass, pt, self.kind)
        tau = np.asarray(variable, dtype=np.float64).reshape(-1)
        if tau.shape != rho.shape:
            raise DataError(f"{tau.size} values of the variable but {rho.size} jets")
        return tau - self.slope * (rho - self.offset)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return np.interp(levels, cumulative, values)


def _strictly_increasing(values: np.ndarray) -> np.ndarray:
    # Ties (e.g. many jets at τ21 = 0) would make the inverse map ambiguous: spread them by
    # a negligible amount so that np.interp sees increasing abscissae.
    return np.maximum.accumulate(values) + 1e-12 * np.arange(len(values))


@dataclass(frozen=True)
class QuantileDecorrelation:
    """τ ↦ its background percentile among jets of the same ρ′: a decorrelated tagger
    whatever the shape of the dependence (the DDT only removes a linear one).

    ``fit`` splits the background into ``bins`` bins of ρ′ with equal weight and stores the
    background quantiles of τ in each; ``transform`` maps τ to its percentile in its own
    bin (linear between stored quantiles). A cut ``percentile < q`` keeps the fraction q of
    the fitted background in every ρ′ bin, so its mass spectrum at fixed pT is not sculpted
    beyond the variation inside a bin.

    Attributes:
        edges: the inner bin edges in the scaling variable.
        quantiles: per bin, τ at the ``levels``.
        levels: the percentiles stored, from 0 to 1.
        kind: the scaling variable.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> mass, pt = rng.uniform(50, 300, 4000), rng.uniform(300, 900, 4000)
        >>> rho = scaling_variable(mass, pt)
        >>> tau = 0.2 + 0.02 * (rho - 3) ** 2 + rng.normal(0, 0.05, 4000)
        >>> flat = QuantileDecorrelation.fit(tau, mass, pt, np.zeros(4000), bins=4)
        >>> passing = flat.transform(tau, mass, pt) < 0.3
        >>> in_bin = np.searchsorted(flat.edges, rho, side="right")
        >>> [round(float(passing[in_bin == b].mean()), 2) for b in range(4)]
        [0.3, 0.3, 0.3, 0.3]
        >>> round(float((tau < np.quantile(tau, 0.3))[rho < 2].mean()), 2)  # τ itself: sculpted
        0.21

    References:
        Dolen et al., arXiv:1603.00027 (the DDT, its linear special case); Moult, Nachman,
        Neill, "Convolved Substructure: Analytically Decorrelating Jet Substructure
        Observables", JHEP 05 (2018) 002, arXiv:1710.06859 (decorrelation by a map in ρ).
    """

    edges: tuple[float, ...]
    quantiles: tuple[tuple[float, ...], ...]
    levels: tuple[float, ...]
    kind: Scaling = "rho_prime"

    @classmethod
    def fit(
        cls,
        variable: Any,
        mass: Any,
        pt: Any,
        labels: Any,
        weights: Any = None,
        *,
        bins: int = 10,
        levels: int = 101,
        kind: Scaling = "rho_prime",
    ) -> "QuantileDecorrelation":
        """Store the background quantiles of ``variable`` in ``bins`` bins of ρ′.

        Arguments:
            variable: the substructure variable τ, one entry a jet.
            mass, pt: the jets' mass and pT in GeV.
            labels: 1 signal, 0 background; only background enters.
            weights: per-jet weights, or None.
            bins: bins of the scaling variable, of equal background weight.
            levels: percentiles stored per bin (≥ 2), evenly from 0 to 1.
            kind: ``"rho_prime"`` or ``"rho"``.

        Returns:
            The fitted :class:`QuantileDecorrelation`.
        """
        for name, value, least in (("bins", bins, 1), ("levels", levels, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} must be an integer ≥ {least}, got {value!r}")
        rho = scaling_variable(mass, pt, kind)
        tau, signal, w, rho = event_arrays(variable, labels, weights, need_signal=False, rho=rho)
        chosen = ~signal & (w > 0)
        if chosen.sum() < 2 * bins:
            raise DataError(
                f"{int(chosen.sum())} background jets cannot fill {bins} bins of {kind} (need "
                f"≥ {2 * bins}); use fewer bins"
            )
        tau, w, rho = tau[chosen], w[chosen], rho[chosen]
        inner = _weighted_quantiles(rho, w, np.linspace(0, 1, bins + 1)[1:-1])
        index = np.searchsorted(inner, rho, side="right")
        grid = np.linspace(0, 1, levels)
        quantiles = []
        for b in range(bins):
            member = index == b
            if not member.any():
                raise DataError(f"bin {b} of {kind} holds no background jet; use fewer bins")
            quantiles.append(tuple(_weighted_quantiles(tau[member], w[member], grid).tolist()))
        return cls(
            edges=tuple(inner.tolist()),
            quantiles=tuple(quantiles),
            levels=tuple(grid.tolist()),
            kind=kind,
        )

    def transform(self, variable: Any, mass: Any, pt: Any) -> np.ndarray:
        """The background percentile of each jet's τ in its own ρ′ bin, in [0, 1]."""
        rho = scaling_variable(mass, pt, self.kind)
        tau = np.asarray(variable, dtype=np.float64).reshape(-1)
        if tau.shape != rho.shape:
            raise DataError(f"{tau.size} values of the variable but {rho.size} jets")
        index = np.searchsorted(np.asarray(self.edges), rho, side="right")
        levels = np.asarray(self.levels)
        percentile = np.empty_like(tau)
        for b, quantiles in enumerate(self.quantiles):
            member = index == b
            percentile[member] = np.interp(
                tau[member], _strictly_increasing(np.asarray(quantiles)), levels
            )
        return percentile
