"""Tagger inputs from wjets tables: padding, masks, bad values, and jet kinematics."""

import awkward as ak
import numpy as np
import pytest
import torch

from robusthep.audit.jets import jet_inputs, jet_pt_mass, toy_jets
from robusthep.errors import DataError

pytestmark = pytest.mark.usefixtures("one_thread")


def _columns(**changes):
    columns = {
        "constituent_pt": ak.Array([[100.0, 50.0, 5.0], [80.0, 20.0]]),
        "constituent_deta": ak.Array([[0.1, -0.2, 0.3], [0.0, 0.1]]),
        "constituent_dphi": ak.Array([[0.0, 0.3, -0.1], [0.1, -0.2]]),
        "jet_pt": np.array([150.0, 95.0]),
        "jet_mass": np.array([30.0, 8.0]),
        "jet_eta": np.array([0.5, -1.0]),
        "jet_d2": np.array([1.2, 3.0]),
        "jet_tau21": np.array([0.3, 0.8]),
        "label": np.array([1, 0]),
    }
    columns.update(changes)
    return columns


def test_constituents_are_padded_masked_and_clipped():
    inputs = jet_inputs(_columns(), max_constituents=2)
    assert inputs.mask.tolist() == [[True, True], [True, True]]
    inputs = jet_inputs(_columns(), max_constituents=4)
    assert inputs.mask.tolist() == [[True, True, True, False], [True, True, False, False]]
    assert inputs.constituents[0, 0, 0].item() == pytest.approx(np.log(100.0))
    assert bool((inputs.constituents[~inputs.mask] == 0).all())
    assert inputs.high_level[1, 1].item() == pytest.approx(np.log(8.0))


def test_nan_constituents_are_refused():
    bad = ak.Array([[0.1, float("nan"), 0.3], [0.0, 0.1]])
    with pytest.raises(DataError, match="constituent_deta.*NaN"):
        jet_inputs(_columns(constituent_deta=bad))
    with pytest.raises(DataError, match="jet_d2"):
        jet_inputs(_columns(jet_d2=np.array([np.nan, 1.0])))
    with pytest.raises(DataError, match="lacks the columns"):
        jet_inputs({"jet_pt": np.ones(2)})
    with pytest.raises(DataError, match="no constituents"):
        empty = ak.Array([[100.0], []])
        jet_inputs(_columns(constituent_pt=empty, constituent_deta=empty, constituent_dphi=empty))


def test_jet_pt_and_mass_match_laboratory_four_vectors():
    """Physics check: rotate and boost to the laboratory and sum four-vectors there."""
    generator = np.random.default_rng(0)
    pt = generator.uniform(1, 100, 12)
    deta, dphi = generator.normal(0, 0.3, 12), generator.normal(0, 0.3, 12)
    jet_eta, jet_phi = 1.3, -2.0
    eta, phi = deta + jet_eta, dphi + jet_phi
    p = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)])
    total = p.sum(1)
    lab_pt = np.hypot(total[0], total[1])
    lab_mass = np.sqrt(total[3] ** 2 - (total[:3] ** 2).sum())
    x = torch.tensor(np.stack([np.log(pt), deta, dphi], -1)[None], dtype=torch.float64)
    ours_pt, ours_mass = jet_pt_mass(x, torch.ones(1, 12, dtype=torch.bool))
    assert ours_pt.item() == pytest.approx(lab_pt, rel=1e-9)
    assert ours_mass.item() == pytest.approx(lab_mass, rel=1e-9)


def test_scaling_every_constituent_scales_pt_and_mass_alike():
    jets = toy_jets(20, seed=3)
    x = jets.constituents.double()
    pt, mass = jet_pt_mass(x, jets.mask)
    scaled = x.clone()
    scaled[..., 0] += np.log(1.02)
    pt2, mass2 = jet_pt_mass(scaled, jets.mask)
    assert torch.allclose(pt2 / pt, torch.full_like(pt, 1.02))
    assert torch.allclose(mass2 / mass, torch.full_like(mass, 1.02))
