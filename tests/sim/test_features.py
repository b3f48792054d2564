"""Features: names, the PRI_/DER_ mapping, undefined values."""

import awkward as ak
import numpy as np

from robusthep.sim.features import (
    CHALLENGE_NAMES,
    DERIVED_FEATURES,
    FEATURES,
    PRIMARY_FEATURES,
    jet_features,
    to_challenge_names,
)

CHALLENGE = (
    "PRI_had_pt PRI_had_eta PRI_had_phi PRI_lep_pt PRI_lep_eta PRI_lep_phi PRI_met PRI_met_phi "
    "PRI_n_jets PRI_jet_leading_pt PRI_jet_leading_eta PRI_jet_leading_phi "
    "PRI_jet_subleading_pt PRI_jet_subleading_eta PRI_jet_subleading_phi PRI_jet_all_pt "
    "DER_mass_transverse_met_lep DER_mass_vis DER_pt_h DER_deltaeta_jet_jet DER_mass_jet_jet "
    "DER_prodeta_jet_jet DER_deltar_had_lep DER_pt_tot DER_sum_pt DER_pt_ratio_lep_had "
    "DER_met_phi_centrality DER_lep_eta_centrality"
).split()


def test_the_mapping_covers_the_challenges_28_features():
    assert (len(PRIMARY_FEATURES), len(DERIVED_FEATURES)) == (16, 12)
    assert [CHALLENGE_NAMES[name] for name in FEATURES] == CHALLENGE


def test_generated_tables_have_every_feature_and_the_bookkeeping_columns(small_higgs):
    columns = small_higgs.columns
    for name in (*FEATURES, "label", "process", "weight", "true_mass", "jet_pt"):
        assert name in columns
    renamed = to_challenge_names(columns)
    assert set(CHALLENGE) <= set(renamed)


def test_undefined_features_are_nan_exactly_where_jets_are_missing(small_higgs):
    c = small_higgs.columns
    assert np.array_equal(np.isnan(c["jet_leading_pt"]), c["n_jets"] < 1)
    for name in ("jet_subleading_pt", "mass_jet_jet", "deltaeta_jet_jet", "lep_eta_centrality"):
        assert np.array_equal(np.isnan(c[name]), c["n_jets"] < 2), name
    for name in ("had_pt", "lep_pt", "met", "mass_vis", "pt_h", "jet_all_pt", "sum_pt"):
        assert np.all(np.isfinite(c[name])), name


def test_jets_at_the_threshold_do_not_count():
    pt = ak.Array([[26.0, 26.5]])
    out = jet_features(pt, ak.Array([[0.0, 0.0]]), ak.Array([[0.0, 1.0]]))
    assert out["n_jets"].tolist() == [1] and out["jet_all_pt"].tolist() == [26.5]
