import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.audit import DesignedDecorrelation, QuantileDecorrelation, scaling_variable
from robusthep.errors import ConfigError, DataError


def _jets(n, slope, seed):
    rng = np.random.default_rng(seed)
    mass, pt = rng.uniform(20, 300, n), rng.uniform(250, 1000, n)
    labels = (rng.random(n) < 0.3).astype(float)
    rho = scaling_variable(mass, pt)
    # signal lies lower and depends on ρ' differently: it must not enter the fit
    tau = np.where(labels == 1, 0.2 - 0.05 * rho, 0.1 + slope * rho) + rng.normal(0, 0.05, n)
    return tau, mass, pt, labels, rng.uniform(0.5, 2.0, n)


@settings(max_examples=25, deadline=None)
@given(
    slope=st.floats(-0.2, 0.2),
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(["rho_prime", "rho"]),
)
def test_transformed_background_has_no_linear_trend(slope, seed, kind):
    tau, mass, pt, labels, weights = _jets(500, slope, seed)
    ddt = DesignedDecorrelation.fit(tau, mass, pt, labels, weights, kind=kind)
    flat = ddt.transform(tau, mass, pt)
    background = labels == 0
    rho = scaling_variable(mass, pt, kind)[background]
    w = weights[background]
    centred = rho - np.average(rho, weights=w)
    # the weighted least-squares slope of τ' on ρ over the background is zero by construction
    assert abs(np.sum(w * centred * flat[background]) / np.sum(w * centred**2)) < 1e-9


def test_recovers_the_slope_and_flattens_the_efficiency_in_mass():
    tau, mass, pt, labels, _ = _jets(40_000, 0.06, 0)
    ddt = DesignedDecorrelation.fit(tau, mass, pt, labels)
    assert ddt.slope == pytest.approx(0.06, abs=0.002)
    background = labels == 0
    for values, flat in ((tau, False), (ddt.transform(tau, mass, pt), True)):
        cut = np.quantile(values[background], 0.3)
        low, high = mass[background] < 100, mass[background] > 200
        kept = values[background] < cut
        # at fixed pT spread, a cut on τ21 keeps far more light jets; on τ21' nearly the same
        ratio = kept[low].mean() / kept[high].mean()
        assert (abs(ratio - 1) < 0.15) if flat else ratio > 3


def test_bad_input():
    tau, mass, pt, labels, _ = _jets(50, 0.1, 1)
    with pytest.raises(ConfigError, match="rho_prime"):
        scaling_variable(mass, pt, "rho2")
    with pytest.raises(DataError, match="m ≤ 0"):
        scaling_variable(np.zeros(3), np.ones(3))
    with pytest.raises(DataError, match="one of each"):
        scaling_variable(mass, pt[:-1])
    with pytest.raises(DataError, match="NaN"):
        DesignedDecorrelation.fit(np.where(tau > 0.3, np.nan, tau), mass, pt, labels)
    with pytest.raises(DataError, match="background events have no weight"):
        DesignedDecorrelation.fit(tau, mass, pt, np.ones(50))
    with pytest.raises(DataError, match="two or more"):
        DesignedDecorrelation.fit(tau, mass, pt, labels, fit_range=(100.0, 200.0))


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    bins=st.integers(1, 8),
    cut=st.floats(0.05, 0.95),
    curvature=st.floats(-0.1, 0.1),
)
def test_quantile_map_keeps_the_same_background_fraction_in_every_bin(seed, bins, cut, curvature):
    tau, mass, pt, labels, weights = _jets(1500, 0.05, seed)
    rho = scaling_variable(mass, pt)
    tau = tau + curvature * (rho - 3) ** 2  # any shape, not only linear
    flat = QuantileDecorrelation.fit(tau, mass, pt, labels, weights, bins=bins)
    percentile = flat.transform(tau, mass, pt)
    assert ((percentile >= 0) & (percentile <= 1)).all()
    background = labels == 0
    in_bin = np.searchsorted(flat.edges, rho, side="right")
    for b in range(bins):
        member = background & (in_bin == b)
        kept = np.sum(weights[member] * (percentile[member] < cut)) / np.sum(weights[member])
        # by construction, up to the weight of the events next to the cut
        assert kept == pytest.approx(cut, abs=2.5 * weights.max() / weights[member].sum() + 0.01)


def test_quantile_map_bad_input():
    tau, mass, pt, labels, _ = _jets(50, 0.1, 1)
    with pytest.raises(ConfigError, match="bins must be an integer"):
        QuantileDecorrelation.fit(tau, mass, pt, labels, bins=0)
    with pytest.raises(DataError, match="use fewer bins"):
        QuantileDecorrelation.fit(tau, mass, pt, labels, bins=40)
    flat = QuantileDecorrelation.fit(tau, mass, pt, labels, bins=2)
    with pytest.raises(DataError, match="4 values of the variable but 3 jets"):
        flat.transform(tau[:4], mass[:3], pt[:3])
