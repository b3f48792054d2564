"""The ``btrigger`` dataset and its tracker: vertices, lifetimes, displacement, bad input."""

import numpy as np
import pytest
from scipy.stats import kstest

from robusthep.errors import ConfigError
from robusthep.sim.btrigger import BTriggerSettings
from robusthep.sim.tracker import Tracker, fit_two_track_vertices, impact_parameter

FEATURES = (
    "sum_pt", "min_pt", "min_ip_chi2", "fd", "fd_chi2", "vertex_chi2", "doca", "mass",
    "corrected_mass", "decay_time", "eta",
)  # fmt: skip


def test_two_exact_tracks_meet_at_their_crossing_point():
    vertex = np.array([[1.0, -2.0, 30.0]])
    momenta = (np.array([[0.3, 0.1, 10.0]]), np.array([[-0.2, 0.4, 20.0]]))
    points = (vertex - 5 * momenta[0], vertex + 2 * momenta[1])  # anywhere on each line
    fit = fit_two_track_vertices(points, momenta, (np.full(1, 0.02), np.full(1, 0.05)))
    np.testing.assert_allclose(fit.position, vertex, atol=1e-9)
    assert fit.chi2[0] == pytest.approx(0.0, abs=1e-12)
    assert fit.doca[0] == pytest.approx(0.0, abs=1e-9)


def test_smeared_impact_parameters_have_the_stated_resolution():
    tracker = Tracker()
    rng = np.random.default_rng(0)
    momenta = np.column_stack([rng.uniform(0.5, 3, 4000), np.zeros(4000), np.full(4000, 30.0)])
    points, smeared, sigma = tracker.reconstruct(np.zeros((4000, 3)), momenta, rng)
    ip = impact_parameter(points, smeared, np.zeros((4000, 3)))
    # two transverse directions of width σ: (IP / σ)² is χ² with 2 degrees of freedom
    assert np.mean((ip / sigma) ** 2) == pytest.approx(2.0, rel=0.06)
    np.testing.assert_allclose(sigma, (15 + 29 / momenta[:, 0]) * 1e-3)


def test_the_table_has_every_feature_finite_and_both_classes(small_btrigger):
    columns = small_btrigger.columns
    for name in FEATURES:
        assert np.all(np.isfinite(columns[name])), name
    assert 0 < columns["label"].mean() < 1
    assert set(columns["process"]) == {"bbbar", "light"}
    assert np.all(columns["min_ip_chi2"] > 4) and np.all(columns["vertex_chi2"] < 10)
    signal = columns["label"] == 1
    assert np.all(np.isfinite(columns["true_b_decay_time"][signal]))
    assert np.all(np.isnan(columns["true_b_decay_time"][~signal]))


def test_signal_candidates_are_more_displaced(small_btrigger):
    columns = small_btrigger.columns
    signal = columns["label"] == 1
    for name in ("fd", "fd_chi2", "min_ip_chi2", "decay_time"):
        assert np.median(columns[name][signal]) > 2 * np.median(columns[name][~signal]), name


def test_true_b_hadron_decay_times_are_exponential_with_tau_near_1_5_ps(small_btrigger):
    columns = small_btrigger.columns
    signal = columns["label"] == 1
    # one entry per b hadron (several candidates can share one)
    keys = np.char.add(
        columns["process"][signal].astype(str), columns["true_b_pt"][signal].astype(str)
    )
    _, first = np.unique(keys, return_index=True)
    time = columns["true_b_decay_time"][signal][first]
    # above 1 ps the displacement cuts no longer shape the spectrum; the exponential is
    # memoryless, so the mean excess estimates τ
    excess = time[time > 1.0] - 1.0
    tau, error = excess.mean(), excess.mean() / np.sqrt(len(excess))
    assert len(excess) > 100
    assert abs(tau - 1.55) < 3 * error, (tau, error)  # B⁰, B⁺, B_s, Λ_b mixture ≈ 1.55 ps
    assert kstest(excess, "expon", args=(0, tau)).pvalue > 0.01


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"events": 0}, "events must be a positive integer"),
        ({"processes": ("charm",)}, "unknown process 'charm'; valid: bbbar, light"),
        ({"track_pt_min": 0.0}, "track_pt_min must be positive"),
        ({"track_ip_chi2_min": -1.0}, "track_ip_chi2_min"),
        ({"pt_hat_min": -5.0}, "pt_hat_min"),
    ],
)
def test_bad_settings_are_config_errors(settings, match):
    with pytest.raises(ConfigError, match=match):
        BTriggerSettings(**settings)


def test_a_bad_tracker_acceptance_is_a_config_error():
    with pytest.raises(ConfigError, match="eta_min < eta_max"):
        Tracker(eta_min=5.0, eta_max=2.0)
