"""Substructure observables and the calorimeter against hand calculations."""

import itertools

import awkward as ak
import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.sim.calorimeter import Calorimeter
from robusthep.sim.detector import CalorimeterResolution
from robusthep.sim.substructure import jet_substructure, relative_constituents


def _jets(*jets):
    """Awkward jets from lists of massless (pT, η, φ)."""
    records = [
        [
            {
                "px": pt * np.cos(phi),
                "py": pt * np.sin(phi),
                "pz": pt * np.sinh(eta),
                "E": pt * np.cosh(eta),
            }
            for pt, eta, phi in jet
        ]
        for jet in jets
    ]
    return ak.Array(records)


# Two hard prongs, A (100 GeV) at the origin and B (50 GeV) at Δη = 0.4, and a soft C.
PRONGS = [(100.0, 0.0, 0.0), (50.0, 0.4, 0.0), (2.0, 0.1, 0.3)]


def _dr(a, b):
    return np.hypot(a[1] - b[1], a[2] - b[2])


def test_n_subjettiness_of_a_two_prong_jet_matches_the_hand_calculation():
    values = jet_substructure(_jets(PRONGS), 1.0)
    a, b, c = PRONGS
    total = sum(p[0] for p in PRONGS)  # d0 = Σ pT · R0, R0 = 1
    # τ1: A outweighs B + C, so the minimising axis sits on A.
    tau1 = (b[0] * _dr(a, b) + c[0] * _dr(a, c)) / total
    # τ2: axes on A and B; only C contributes, at its distance to the nearer axis.
    tau2 = c[0] * min(_dr(a, c), _dr(b, c)) / total
    assert values["tau1"][0] == pytest.approx(tau1, rel=1e-3)
    assert values["tau2"][0] == pytest.approx(tau2, rel=1e-3)
    assert values["tau3"][0] == pytest.approx(0.0, abs=1e-12)  # three particles, three axes
    assert values["tau2"][0] / values["tau1"][0] < 0.05


def test_n_subjettiness_is_normalised_by_the_jet_radius():
    one, two = (jet_substructure(_jets(PRONGS), r)["tau1"][0] for r in (1.0, 0.5))
    assert two == pytest.approx(2 * one, rel=1e-6)


def _d2_by_hand(jet):
    pt = np.array([p[0] for p in jet])
    z = pt / pt.sum()
    e2 = sum(
        z[i] * z[j] * _dr(jet[i], jet[j]) for i, j in itertools.combinations(range(len(jet)), 2)
    )
    e3 = sum(
        z[i] * z[j] * z[k] * _dr(jet[i], jet[j]) * _dr(jet[i], jet[k]) * _dr(jet[j], jet[k])
        for i, j, k in itertools.combinations(range(len(jet)), 3)
    )
    return e3 / e2**3


def test_d2_matches_the_triple_sum_by_hand():
    rng = np.random.default_rng(1)
    spread = [
        (float(p), float(e), float(f))
        for p, e, f in zip(
            rng.uniform(1, 50, 7), rng.normal(0, 0.3, 7), rng.normal(0, 0.3, 7), strict=True
        )
    ]
    values = jet_substructure(_jets(PRONGS, spread), 1.0)
    assert values["d2"][0] == pytest.approx(_d2_by_hand(PRONGS), rel=1e-6)
    assert values["d2"][1] == pytest.approx(_d2_by_hand(spread), rel=1e-6)


def _mass(particles):
    px = sum(p * np.cos(f) for p, _, f in particles)
    py = sum(p * np.sin(f) for p, _, f in particles)
    pz = sum(p * np.sinh(e) for p, e, _ in particles)
    energy = sum(p * np.cosh(e) for p, e, _ in particles)
    return np.sqrt(energy**2 - px**2 - py**2 - pz**2)


def test_soft_drop_removes_soft_wide_angle_radiation_and_keeps_both_prongs():
    jet = [(100.0, 0.0, 0.0), (50.0, 0.4, 0.0), (3.0, -0.5, 0.7)]  # C/A merges the soft one last
    values = jet_substructure(_jets(jet), 1.0)
    assert values["mass_sd"][0] == pytest.approx(_mass(jet[:2]), rel=1e-9)
    assert _mass(jet) > 1.1 * _mass(jet[:2])


def test_soft_drop_grooms_an_asymmetric_prong_away():
    jet = [(100.0, 0.0, 0.0), (5.0, 0.5, 0.0)]  # z = 5 / 105 < 0.1
    assert jet_substructure(_jets(jet), 1.0)["mass_sd"][0] == pytest.approx(0.0, abs=1e-6)
    assert jet_substructure(_jets(jet), 1.0, soft_drop_zcut=0.01)["mass_sd"][0] == (
        pytest.approx(_mass(jet), rel=1e-9)
    )


def test_no_jets_give_empty_columns_and_a_bad_radius_is_an_error():
    assert all(len(v) == 0 for v in jet_substructure(_jets(), 1.0).values())
    with pytest.raises(ConfigError, match="radius must be positive"):
        jet_substructure(_jets(PRONGS), 0.0)
    with pytest.raises(ConfigError, match="≥ 1"):
        relative_constituents(_jets(PRONGS), np.zeros(1), np.zeros(1), 0)


def test_relative_constituents_are_sorted_truncated_and_wrapped():
    jet = [(10.0, 0.1, 3.1), (30.0, 0.2, -3.1), (20.0, 0.0, 3.0)]
    out = relative_constituents(_jets(jet), np.array([0.1]), np.array([3.1]), 2)
    assert out["pt"][0].tolist() == pytest.approx([30.0, 20.0])
    assert out["deta"][0].tolist() == pytest.approx([0.1, -0.1])
    assert out["dphi"][0].tolist() == pytest.approx([2 * np.pi - 6.2, -0.1])


PERFECT = CalorimeterResolution(0.0, 0.0)


def _deposit(calorimeter, particles, seed=0):
    pt, eta, phi, pdg = (np.array(x) for x in zip(*particles, strict=True))
    return calorimeter.towers(
        np.zeros(len(pt), dtype=np.int64),
        pt * np.cos(phi),
        pt * np.sin(phi),
        pt * np.sinh(eta),
        pt * np.cosh(eta),
        pdg,
        1,
        np.random.default_rng(seed),
    )


def test_a_perfect_calorimeter_keeps_the_visible_energy_and_points_at_cell_centres():
    calorimeter = Calorimeter(em=PERFECT, hadronic=PERFECT, forward=PERFECT)
    particles = [
        (50.0, 0.01, 0.01, 22),
        (30.0, 0.02, 0.02, 211),
        (40.0, 1.0, 1.0, 12),
        (20.0, -1.0, 2.0, 13),
        (10.0, 5.5, 0.0, 211),
    ]
    towers = _deposit(calorimeter, particles)
    assert towers.counts.tolist() == [1]  # ν, μ and |η| > 4.9 leave nothing
    assert towers.energy[0] == pytest.approx(80.0 * np.cosh(0.01), rel=2e-4)
    eta = np.arcsinh(towers.pz / np.hypot(towers.px, towers.py))
    assert eta[0] == pytest.approx(0.05, abs=1e-9)  # the centre of the cell [0, 0.1)


def test_cell_energies_are_smeared_reproducibly_and_thresholds_apply():
    calorimeter = Calorimeter()
    particles = [(100.0, 0.5, 0.5, 211), (0.8, -1.0, -1.0, 211), (0.8, 1.0, -1.0, 22)]
    first, again = _deposit(calorimeter, particles, 5), _deposit(calorimeter, particles, 5)
    np.testing.assert_array_equal(first.energy, again.energy)
    assert first.counts.tolist() == [2]  # the 0.8 GeV hadron is below the 1 GeV threshold
    assert first.energy.max() != pytest.approx(100.0 * np.cosh(0.5), rel=1e-6)


def test_bad_calorimeter_geometry_is_a_config_error():
    with pytest.raises(ConfigError, match="cell_eta > 0"):
        Calorimeter(cell_eta=0.0)
