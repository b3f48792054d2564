"""Physics checks on small samples: mass peaks, visible mass, yields, forced branching fractions."""

import numpy as np
import pytest

from robusthep.sim.processes import tau_lep_had
from robusthep.sim.pythia import make_pythia
from robusthep.sim.record import hard_leptons

Z_MASS, H_MASS = 91.19, 125.0
_Z_TAUTAU = (
    "WeakSingleBoson:ffbar2gmZ = on",
    "23:onMode = off",
    "23:onIfMatch = 15 -15",
    "PhaseSpace:mHatMin = 60.",
)


def _median_in_window(values, centre, half_width):
    values = values[np.abs(values - centre) < half_width]
    assert len(values) > 20
    return float(np.median(values))


def test_true_z_mass_peaks_at_91_gev(small_ztautau):
    true_mass = small_ztautau.columns["true_mass"]
    assert _median_in_window(true_mass, Z_MASS, 15.0) == pytest.approx(Z_MASS, abs=2.0)
    histogram, edges = np.histogram(true_mass, bins=np.arange(60.0, 122.0, 4.0))
    assert edges[np.argmax(histogram)] + 2.0 == pytest.approx(Z_MASS, abs=4.0)


def test_true_higgs_mass_is_125_gev(small_higgs):
    signal = small_higgs.columns["process"] == "htautau"
    true_mass = small_higgs.columns["true_mass"][signal]
    assert _median_in_window(true_mass, H_MASS, 10.0) == pytest.approx(H_MASS, abs=1.0)


@pytest.mark.parametrize("process", ["htautau", "ztautau"])
def test_visible_mass_sits_below_the_true_mass(small_higgs, small_ztautau, process):
    sample = small_higgs if process == "htautau" else small_ztautau
    rows = sample.columns["process"] == process
    visible, true = sample.columns["mass_vis"][rows], sample.columns["true_mass"][rows]
    assert np.mean(visible < true) > 0.9
    assert np.median(visible) < 0.85 * np.median(true)


def test_every_process_is_selected_with_positive_weights(small_higgs):
    columns = small_higgs.columns
    for name, info in small_higgs.meta["processes"].items():
        rows = columns["process"] == name
        assert rows.sum() == info["selected"]
        assert np.all(columns["weight"][rows] > 0)
        assert columns["weight"][rows].sum() == pytest.approx(info["expected_yield"])
    assert set(np.unique(columns["label"][columns["process"] == "htautau"])) == {1}


def test_yields_per_process_agree_across_seeds_within_statistical_error(small_higgs, make_small):
    other = make_small(seed=2)
    for name in small_higgs.meta["processes"]:
        yields, errors = [], []
        for sample in (small_higgs, other):
            weights = sample.columns["weight"][sample.columns["process"] == name]
            yields.append(weights.sum())
            errors.append(np.sqrt(np.sum(weights**2)) + 1e-12)
        pull = (yields[0] - yields[1]) / np.hypot(*errors)
        assert abs(pull) < 3.5, (name, yields, errors)


def test_forced_tau_decays_keep_the_lepton_hadron_fraction():
    _, fraction = tau_lep_had()
    # PDG: B(τ → e νν) + B(τ → μ νν) = 0.352, the rest hadronic.
    assert fraction == pytest.approx(2 * 0.352 * 0.648, abs=0.003)


def test_weights_carry_the_forced_branching_fraction():
    """Unforced Z → ττ: the share of lepton-hadron pairs matches what forcing assumes."""
    # Isotropic τ decays, no showers, no hadronisation: the branching fractions are unchanged.
    settings = (
        *_Z_TAUTAU,
        "PartonLevel:ISR = off",
        "PartonLevel:FSR = off",
        "PartonLevel:MPI = off",
        "HadronLevel:Hadronize = off",
        "TauDecays:mode = 0",
    )
    pythia = make_pythia(settings, seed=5)
    lep_had = trials = 0
    while trials < 3000:
        if not pythia.next():
            continue
        trials += 1
        leptons, taus = hard_leptons(pythia.event)
        lep_had += len(leptons) == 1 and len(taus) == 1
    share = lep_had / trials
    _, fraction = tau_lep_had()
    error = np.sqrt(fraction * (1 - fraction) / trials)
    assert abs(share - fraction) < 4 * error


def test_forced_decays_give_only_lepton_hadron_pairs():
    forced, _ = tau_lep_had()
    settings = (*_Z_TAUTAU, "PartonLevel:MPI = off", "TauDecays:mode = 0", *forced)
    pythia = make_pythia(settings, seed=6)
    for _ in range(100):
        assert pythia.next()
        leptons, taus = hard_leptons(pythia.event)
        assert (len(leptons), len(taus)) == (1, 1)
