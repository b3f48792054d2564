import awkward as ak
import numpy as np
import pytest

from robusthep.errors import ConfigError, DataError
from robusthep.ot import JetFitSettings, fit_jet_shapes, fit_shape, jet_cloud, select_jets
from robusthep.ot.jets import JetShapeTask, prong_separation

FAST = {"steps": 60, "critic_steps": 3, "warmup_steps": 60, "final_steps": 100, "hidden": (16, 16)}


def _two_prong_jet(separation=0.4, share=0.6, particles=30, seed=0):
    """Particles in two tight prongs on the η axis, ±separation/2 around the jet axis."""
    rng = np.random.default_rng(seed)
    first = rng.random(particles) < share
    centre = np.where(first, -separation / 2, separation / 2)
    points = np.stack([centre, np.zeros(particles)], axis=1)
    points += 0.02 * rng.standard_normal((particles, 2))
    weights = np.where(first, share / first.sum(), (1 - share) / (~first).sum())
    return points, weights


def test_jet_cloud_reads_constituents_as_pt_fractions():
    columns = {
        "constituent_pt": ak.Array([[2.0, 6.0], []]),
        "constituent_deta": ak.Array([[0.1, -0.2], []]),
        "constituent_dphi": ak.Array([[0.3, 0.0], []]),
    }
    points, weights = jet_cloud(columns, 0)
    assert points.tolist() == [[0.1, 0.3], [-0.2, 0.0]]
    assert weights.tolist() == [0.25, 0.75]
    with pytest.raises(DataError, match="no constituents"):
        jet_cloud(columns, 1)
    with pytest.raises(DataError, match="out of range"):
        jet_cloud(columns, 2)
    with pytest.raises(DataError, match="constituent_pt"):
        jet_cloud({"jet_pt": np.ones(1)}, 0)


def test_select_jets_is_seeded_and_respects_the_window():
    columns = {
        "label": np.array([1, 1, 1, 0, 1]),
        "jet_pt": np.array([350.0, 400.0, 800.0, 400.0, 500.0]),
        "jet_n_constituents": np.array([5, 5, 5, 5, 2]),
    }
    chosen = select_jets(columns, 1, 2, seed=3)
    assert chosen == [0, 1]
    assert select_jets(columns, 1, 2, seed=3) == chosen
    with pytest.raises(DataError, match="only 2 jets"):
        select_jets(columns, 1, 3)
    columns["jet_mass"] = np.array([80.0, 30.0, 80.0, 80.0, 80.0])
    assert select_jets(columns, 1, 1, mass_range=(60.0, 100.0)) == [0]
    with pytest.raises(DataError, match="60 ≤ m < 100 GeV"):
        select_jets(columns, 1, 2, mass_range=(60.0, 100.0))


def test_prong_separation_takes_the_two_hardest_circles():
    assert prong_separation([[0, 0], [3, 4], [1, 0]], [0.5, 0.3, 0.2]) == pytest.approx(5.0)
    with pytest.raises(DataError, match="two circles"):
        prong_separation([[0, 0]], [1.0])


def test_two_prong_jet_prefers_two_circles_at_the_prong_separation():
    points, weights = _two_prong_jet()
    settings = JetFitSettings(n_circles=(1, 2), **FAST)
    result = fit_jet_shapes(JetShapeTask(points, weights, settings, seed=0))
    one, two = result["exact"]
    assert two < 0.5 * one
    shape = result["shapes"][1]
    assert prong_separation(shape["centres"], shape["fractions"]) == pytest.approx(0.4, abs=0.05)
    assert sorted(shape["fractions"]) == pytest.approx([0.4, 0.6], abs=0.05)
    # NEEMo's EMD is a certified lower bound on the exact EMD at the same fitted shape.
    for neemo, exact in zip(result["neemo"], result["exact"], strict=True):
        assert neemo <= exact + 1e-6


@pytest.mark.parametrize(
    ("points", "weights", "match"),
    [
        (np.zeros((0, 2)), None, "empty"),
        (np.zeros((2, 2)), [1.0, -1.0], "negative"),
        (np.zeros((2, 3)), None, "2-d"),
        (np.zeros((1, 2)), None, "cannot seed"),
    ],
)
def test_fit_shape_rejects_bad_clouds(points, weights, match):
    with pytest.raises(DataError, match=match):
        fit_shape(points, weights, n_circles=2, steps=1, warmup_steps=1, final_steps=1)


def test_fit_settings_are_checked():
    with pytest.raises(ConfigError, match="n_circles"):
        JetFitSettings(n_circles=(0,))
    with pytest.raises(ConfigError, match="shape kind"):
        JetFitSettings(kind="ellipse")
