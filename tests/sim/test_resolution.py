"""degrade_tracker: seeded, pure, and widening every resolution by the factor asked for."""

import numpy as np
import pytest

from robusthep.errors import ConfigError, DataError
from robusthep.sim import Tracker, degrade_tracker
from robusthep.sim.resolution import DEGRADED_COLUMNS

ROWS = 40_000


def _prompt_table(seed: int = 0) -> dict[str, np.ndarray]:
    """Candidates of two 1.5 GeV tracks from the PV: every χ² is pure resolution."""
    rng = np.random.default_rng(seed)
    sigma = np.hypot(*Tracker().ip_sigma_mm(np.full((2, ROWS), 1.5)))
    doca = np.abs(rng.normal(0, sigma))
    return {
        "sum_pt": np.full(ROWS, 3.0),
        "min_pt": np.full(ROWS, 1.5),
        "min_ip_chi2": rng.chisquare(2, ROWS),  # a 2-d IP in units of σ_IP
        "fd": np.full(ROWS, 0.5),
        "fd_chi2": rng.chisquare(3, ROWS),  # a 3-d flight vector in units of its errors
        "vertex_chi2": doca**2 / sigma**2,
        "doca": doca,
        "decay_time": np.full(ROWS, 0.3),
        "eta": np.full(ROWS, 3.0),
        "label": np.zeros(ROWS, dtype=np.int64),
    }


@pytest.mark.parametrize("factor", [1.2, 1.5])
@pytest.mark.parametrize("column", ["min_ip_chi2", "fd_chi2", "vertex_chi2"])
def test_each_chi2_of_pure_resolution_grows_by_the_factor_squared(column, factor):
    table = _prompt_table()
    worse = degrade_tracker(table, factor, seed=1)
    ratio = worse[column].mean() / table[column].mean()
    assert ratio == pytest.approx(factor**2, rel=0.03)


def test_the_doca_and_the_momentum_spread_widen_by_the_factor():
    table = _prompt_table()
    worse = degrade_tracker(table, 1.2, seed=2)
    assert np.sqrt(np.mean(worse["doca"] ** 2) / np.mean(table["doca"] ** 2)) == pytest.approx(
        1.2, rel=0.02
    )
    # σ_p/p ≈ 0.5 % at p = 1.5 GeV · cosh 3: the added spread is √(1.2² − 1) of it
    spread = np.std(worse["sum_pt"] / table["sum_pt"] - 1)
    expected = np.sqrt(1.2**2 - 1) * Tracker().momentum_resolution(1.5 * np.cosh(3.0)) / np.sqrt(2)
    assert spread == pytest.approx(expected, rel=0.05)


def test_same_seed_same_table_other_seed_other_table_input_untouched():
    table = _prompt_table()
    copy = {key: value.copy() for key, value in table.items()}
    first, again = degrade_tracker(table, 1.2, seed=5), degrade_tracker(table, 1.2, seed=5)
    other = degrade_tracker(table, 1.2, seed=6)
    for column in DEGRADED_COLUMNS:
        np.testing.assert_array_equal(first[column], again[column])
        assert not np.array_equal(first[column], other[column])
        assert not np.array_equal(first[column], table[column])
        np.testing.assert_array_equal(table[column], copy[column])
    assert first["label"] is table["label"]  # what is not re-smeared passes through


def test_factor_one_changes_no_chi2():
    table = _prompt_table()
    same = degrade_tracker(table, 1.0, seed=3)
    for column in ("min_ip_chi2", "fd_chi2", "sum_pt", "fd", "decay_time"):
        np.testing.assert_allclose(same[column], table[column], rtol=1e-12)


def test_bad_input_is_refused_with_the_reason():
    table = _prompt_table()
    with pytest.raises(ConfigError, match="≥ 1"):
        degrade_tracker(table, 0.8, seed=0)
    with pytest.raises(ConfigError, match="finite"):
        degrade_tracker(table, float("nan"), seed=0)
    with pytest.raises(DataError, match=r"missing \['doca'\]"):
        degrade_tracker({k: v for k, v in table.items() if k != "doca"}, seed=0)
    table["fd"] = table["fd"].copy()
    table["fd"][7] = np.nan
    with pytest.raises(DataError, match=r"'fd' holds 1 NaN.*\[7\]"):
        degrade_tracker(table, seed=0)


@pytest.mark.slow
def test_signal_agrees_with_a_full_resimulation_by_a_worse_tracker():
    """Same Pythia events, every tracker resolution ×1.2, χ² with the nominal resolutions."""
    from robusthep.sim import BTriggerSettings
    from robusthep.sim.btrigger_shard import TrackSelection, simulate_btrigger

    factor, settings = 1.2, BTriggerSettings(events=2000, fast=True)
    cuts = settings.selection()
    nominal = simulate_btrigger(settings.pythia_settings("bbbar"), 2000, 11, 12, cuts).columns
    worse_tracker = Tracker(
        ip_constant_um=15 * factor,
        ip_inverse_pt_um=29 * factor,
        momentum_constant=0.005 * factor,
        momentum_slope=4.33e-5 * factor,
        pv_sigma_mm=(0.013 * factor, 0.013 * factor, 0.071 * factor),
    )
    # The worse tracker's χ² use its own σ: cut at the values that equal the nominal cuts.
    loose = TrackSelection(
        track_ip_chi2_min=cuts.track_ip_chi2_min / factor**2,
        vertex_chi2_max=cuts.vertex_chi2_max / factor**2,
    )
    resimulated = simulate_btrigger(
        settings.pythia_settings("bbbar"), 2000, 11, 12, loose, tracker=worse_tracker
    ).columns
    for column in ("min_ip_chi2", "fd_chi2", "vertex_chi2"):
        resimulated[column] = resimulated[column] * factor**2  # in nominal-σ units
    smeared = degrade_tracker(nominal, factor, seed=3)
    kept = (smeared["min_ip_chi2"] > cuts.track_ip_chi2_min) & (
        smeared["vertex_chi2"] < cuts.vertex_chi2_max
    )
    signal_smeared = kept & (smeared["label"] == 1)
    signal_resimulated = resimulated["label"] == 1
    for column in ("vertex_chi2", "doca", "fd", "decay_time"):
        a = np.median(smeared[column][signal_smeared])
        b = np.median(resimulated[column][signal_resimulated])
        assert a == pytest.approx(b, rel=0.1), column
    # What it leaves out: prompt pairs entering the preselection with a worse tracker.
    background = (nominal["label"] == 0).sum()
    assert (
        (resimulated["label"] == 0).sum() > 1.3 * background > 1.3 * (kept & ~signal_smeared).sum()
    )
