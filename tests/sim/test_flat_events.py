"""The flat-array fast path of the shifts equals apply_systematics on the same rows."""

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.data.dataset import select_rows
from robusthep.errors import ConfigError, DataError
from robusthep.infer import PseudoExperimentSampler
from robusthep.sim import FlatEvents, apply_systematics

PROCESSES = np.array(["htautau", "ztautau", "ttbar", "diboson"])


def _table(rng: np.random.Generator, n: int) -> dict:
    """A random higgs-like table: objects near the thresholds, 0–5 jets sorted by pT."""
    counts = rng.integers(0, 6, n)
    pt = [np.sort(rng.uniform(20.0, 80.0, c))[::-1] for c in counts]
    process = rng.integers(0, 4, n)
    return {
        "had_pt": rng.uniform(24.0, 60.0, n),
        "had_eta": rng.uniform(-2.5, 2.5, n),
        "had_phi": rng.uniform(-np.pi, np.pi, n),
        "lep_pt": rng.uniform(20.0, 50.0, n),
        "lep_eta": rng.uniform(-2.5, 2.5, n),
        "lep_phi": rng.uniform(-np.pi, np.pi, n),
        "met": rng.exponential(20.0, n),
        "met_phi": rng.uniform(-np.pi, np.pi, n),
        "jet_pt": ak.Array(pt),
        "jet_eta": ak.Array([rng.uniform(-4.0, 4.0, c) for c in counts]),
        "jet_phi": ak.Array([rng.uniform(-np.pi, np.pi, c) for c in counts]),
        "true_mass": rng.uniform(50.0, 150.0, n),
        "label": (process == 0).astype(np.int64),
        "process": PROCESSES[process],
        "weight": rng.uniform(0.5, 2.0, n),
    }


def _assert_equal_tables(slow: dict, fast: dict) -> None:
    assert set(fast) == set(slow) - {"jet_pt", "jet_eta", "jet_phi"}
    for name, values in fast.items():
        expected = np.asarray(slow[name])
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-9, err_msg=name)
        else:
            np.testing.assert_array_equal(values, expected, err_msg=name)


nuisance_values = st.fixed_dictionaries(
    {
        "tes": st.floats(0.9, 1.1),
        "jes": st.floats(0.9, 1.1),
        "soft_met": st.floats(0.0, 10.0),
        "ttbar_scale": st.floats(0.0, 2.0),
        "diboson_scale": st.floats(0.0, 2.0),
        "bkg_scale": st.floats(0.9, 1.1),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    nuisances=nuisance_values,
    table_seed=st.integers(0, 2**16),
    size=st.integers(1, 80),
    noise_seed=st.integers(0, 2**31 - 1),
)
def test_flat_shift_equals_apply_systematics_on_the_same_rows(
    nuisances, table_seed, size, noise_seed
):
    rng = np.random.default_rng(table_seed)
    table = _table(rng, 50)
    rows = rng.integers(0, 50, size)  # repeated rows, as a pseudo-experiment draws them
    slow = apply_systematics(select_rows(table, rows), nuisances, seed=noise_seed)
    _assert_equal_tables(slow, FlatEvents(table).shift(rows, nuisances, seed=noise_seed))


@pytest.mark.parametrize(
    "nuisances", [{}, {"tes": 0.97}, {"jes": 1.08}, {"soft_met": 4.0}, {"jes": 0.9, "tes": 1.1}]
)
def test_flat_shift_equals_apply_systematics_on_generated_events(small_higgs, nuisances):
    table = small_higgs.columns
    rows = np.random.default_rng(0).permutation(len(table["weight"]))
    slow = apply_systematics(select_rows(table, rows), nuisances, seed=7)
    _assert_equal_tables(slow, FlatEvents(table).shift(rows, nuisances, seed=7))


def test_nominal_values_return_the_pools_values_bit_for_bit(small_higgs):
    table = small_higgs.columns
    rows = np.arange(len(table["weight"]))
    shifted = FlatEvents(table).shift(rows, {})
    for name in ("met", "met_phi", "had_pt", "mass_vis", "jet_leading_pt", "n_jets"):
        np.testing.assert_array_equal(shifted[name], table[name], err_msg=name)


def test_the_pool_is_never_touched():
    table = _table(np.random.default_rng(1), 30)
    before = {k: np.array(v, copy=True) for k, v in table.items() if not isinstance(v, ak.Array)}
    FlatEvents(table).shift(np.arange(30), {"tes": 1.05, "soft_met": 3.0, "bkg_scale": 1.1})
    for name, values in before.items():
        np.testing.assert_array_equal(table[name], values, err_msg=name)


def test_sampler_fast_path_gives_the_awkward_paths_pseudo_experiment():
    pool = _table(np.random.default_rng(2), 400)
    yields = {"htautau": 5.0, "ztautau": 8.0, "ttbar": 6.0, "diboson": 2.0}
    fast = PseudoExperimentSampler(pool, yields, max_overlap=0.2)
    slow = PseudoExperimentSampler(pool, yields, max_overlap=0.2, flat=False)
    truth = {"tes": 1.02, "jes": 0.97, "soft_met": 2.5, "ttbar_scale": 1.2}
    for seed in range(5):
        a, b = slow.sample(1.5, truth, seed=seed), fast.sample(1.5, truth, seed=seed)
        assert a.counts == b.counts
        _assert_equal_tables(a.table, b.table)


def test_bad_input_is_refused():
    table = _table(np.random.default_rng(3), 5)
    del table["jet_phi"]
    with pytest.raises(DataError, match="jet_phi"):
        FlatEvents(table)
    events = FlatEvents(_table(np.random.default_rng(3), 5))
    with pytest.raises(ConfigError, match="jes"):
        events.shift(np.arange(5), {"jes": -1.0})
