"""Systematic shifts: pure functions of (table, nuisances) that move what they should."""

import awkward as ak
import numpy as np
import pytest

from robusthep.errors import ConfigError, DataError
from robusthep.sim.features import DERIVED_FEATURES, HAD_PT_MIN, JET_PT_MIN, derived_features
from robusthep.sim.systematics import (
    NOMINAL,
    NUISANCES,
    PRIORS,
    apply_systematics,
    check_nuisances,
    sample_nuisances,
)


def _met_vector(table):
    return table["met"] * np.cos(table["met_phi"]), table["met"] * np.sin(table["met_phi"])


def _copy(table):
    return {k: (v if isinstance(v, ak.Array) else np.array(v, copy=True)) for k, v in table.items()}


def _same(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        if isinstance(a[name], ak.Array):
            assert ak.to_list(a[name]) == ak.to_list(b[name]), name
        else:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_nominal_values_change_nothing(small_higgs):
    table = small_higgs.columns
    _same(apply_systematics(table, NOMINAL), table)
    _same(apply_systematics(table, {}), table)


@pytest.mark.parametrize("name", NUISANCES)
def test_a_shift_never_mutates_its_input(small_higgs, name):
    table = small_higgs.columns
    before = _copy(table)
    value = {"soft_met": 3.0}.get(name, 1.05)
    apply_systematics(table, {name: value}, seed=3)
    _same(table, before)


def test_tes_moves_the_visible_tau_pt_by_exactly_one_percent_and_met_with_it(small_higgs):
    table = small_higgs.columns
    shifted = apply_systematics(table, {"tes": 1.01})
    assert len(shifted["had_pt"]) == len(table["had_pt"])  # all taus stay above threshold
    np.testing.assert_allclose(shifted["had_pt"], 1.01 * table["had_pt"], rtol=1e-12)
    np.testing.assert_array_equal(shifted["had_eta"], table["had_eta"])
    x0, y0 = _met_vector(table)
    x1, y1 = _met_vector(shifted)
    added = 0.01 * table["had_pt"]
    np.testing.assert_allclose(x1 - x0, -added * np.cos(table["had_phi"]), atol=1e-9)
    np.testing.assert_allclose(y1 - y0, -added * np.sin(table["had_phi"]), atol=1e-9)


def test_tes_down_removes_taus_below_threshold(small_higgs):
    table = small_higgs.columns
    shifted = apply_systematics(table, {"tes": 0.95})
    expected = np.sum(0.95 * table["had_pt"] >= HAD_PT_MIN)
    assert len(shifted["had_pt"]) == expected < len(table["had_pt"])
    assert np.all(shifted["had_pt"] >= HAD_PT_MIN)


def test_jes_scales_jets_moves_met_and_reapplies_the_jet_threshold(small_higgs):
    table = small_higgs.columns
    shifted = apply_systematics(table, {"jes": 1.1})
    assert ak.all(np.isclose(shifted["jet_pt"], 1.1 * table["jet_pt"]))
    counted = ak.sum(1.1 * table["jet_pt"] > JET_PT_MIN, axis=1)
    np.testing.assert_array_equal(shifted["n_jets"], counted)
    assert np.sum(shifted["n_jets"]) >= np.sum(table["n_jets"])
    change = 0.1 * table["jet_pt"]
    vectors = zip(_met_vector(table), _met_vector(shifted), (np.cos, np.sin), strict=True)
    for before, after, trig in vectors:
        added = ak.to_numpy(ak.sum(change * trig(table["jet_phi"]), axis=1))
        np.testing.assert_allclose(after - before, -added, atol=1e-9)


def test_derived_features_are_recomputed_after_a_shift(small_higgs):
    shifted = apply_systematics(small_higgs.columns, {"tes": 1.03, "jes": 0.97})
    recomputed = derived_features(shifted)
    for name in DERIVED_FEATURES:
        np.testing.assert_array_equal(shifted[name], recomputed[name], err_msg=name)
    assert not np.allclose(
        shifted["mass_vis"], small_higgs.columns["mass_vis"][: len(shifted["mass_vis"])]
    )


def test_soft_met_noise_is_reproducible_and_has_its_width(small_higgs):
    table = small_higgs.columns
    first = apply_systematics(table, {"soft_met": 3.0}, seed=11)
    again = apply_systematics(table, {"soft_met": 3.0}, seed=11)
    other = apply_systematics(table, {"soft_met": 3.0}, seed=12)
    np.testing.assert_array_equal(first["met"], again["met"])
    assert not np.array_equal(first["met"], other["met"])
    dx = _met_vector(first)[0] - _met_vector(table)[0]
    assert np.std(dx) == pytest.approx(3.0, rel=0.25)
    np.testing.assert_array_equal(first["had_pt"], table["had_pt"])


def test_scales_change_only_their_processes_weights(small_higgs):
    table = small_higgs.columns
    shifted = apply_systematics(table, {"ttbar_scale": 2.0, "diboson_scale": 3.0, "bkg_scale": 1.5})
    ratio = shifted["weight"] / table["weight"]
    expected = {"htautau": 1.0, "ztautau": 1.5, "ttbar": 3.0, "diboson": 4.5}
    for process, factor in expected.items():
        np.testing.assert_allclose(ratio[table["process"] == process], factor)


@pytest.mark.parametrize(
    "nuisances",
    [
        {"tes": 0.0},
        {"tes": -1.0},
        {"jes": 0.0},
        {"soft_met": -0.1},
        {"bkg_scale": -1.0},
        {"ttbar_scale": float("nan")},
        {"tess": 1.0},
    ],
)
def test_out_of_range_or_unknown_nuisances_are_config_errors(nuisances):
    name = next(iter(nuisances))
    with pytest.raises(ConfigError, match=name):
        check_nuisances(nuisances)


def test_a_table_without_the_needed_columns_is_a_data_error():
    with pytest.raises(DataError, match="jet_pt"):
        apply_systematics({"had_pt": np.ones(1)}, {"tes": 1.01})


@pytest.mark.parametrize("prior_set", sorted(PRIORS))
def test_prior_samples_stay_in_their_ranges_and_are_seeded(prior_set):
    draws = [sample_nuisances(prior_set, seed) for seed in range(200)]
    assert sample_nuisances(prior_set, 7) == sample_nuisances(prior_set, 7)
    for name in NUISANCES:
        prior = PRIORS[prior_set][name]
        values = np.array([draw[name] for draw in draws])
        assert np.all((values >= prior.low) & (values <= prior.high)), name
        check_nuisances({name: float(values.min())})


def test_the_two_prior_sets_are_the_issues():
    talk, challenge = PRIORS["talk"], PRIORS["challenge"]
    assert (talk["ttbar_scale"].sigma, talk["diboson_scale"].sigma) == (0.25, 0.025)
    assert (challenge["ttbar_scale"].sigma, challenge["diboson_scale"].sigma) == (0.02, 0.25)
    assert challenge["soft_met"].log_normal and challenge["soft_met"].high == 5.0
    assert (challenge["bkg_scale"].low, challenge["bkg_scale"].high) == (0.99, 1.01)
    with pytest.raises(ConfigError, match="talk, challenge"):
        sample_nuisances("paper", 0)
