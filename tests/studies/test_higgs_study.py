"""The higgs study: bad input at its boundary, and a tiny end-to-end run (slow)."""

import json
from pathlib import Path

import numpy as np
import pyhf
import pytest
import torch

from robusthep.errors import ConfigError
from robusthep.infer import FeatureMismatchError
from robusthep.report import RunFolder
from robusthep.studies.higgs import Classifier, HiggsConfig, run_higgs


def test_a_model_trained_on_other_features_is_refused():
    classifier = Classifier(torch.nn.Linear(2, 1), ("mass_vis", "met"), np.zeros(2), np.ones(2))
    with pytest.raises(FeatureMismatchError, match=r"lack the features \['met'\]"):
        classifier.scores({"mass_vis": np.ones(3), "had_pt": np.ones(3)})


def test_true_mu_outside_the_neyman_grid_is_an_error(tmp_path):
    config = HiggsConfig.quick().model_copy(update={"mu_values": (0.5, 3.5)})
    with pytest.raises(ConfigError, match="outside the Neyman grid"):
        run_higgs(config, RunFolder(tmp_path / "run"))


def test_evaluating_on_the_belts_own_pseudo_experiments_is_refused(tmp_path):
    config = HiggsConfig.quick().model_copy(update={"evaluation_stream": 1})
    with pytest.raises(ConfigError, match="belt's own pseudo-experiments"):
        run_higgs(config, RunFolder(tmp_path / "run"))


def test_unknown_flow_features_and_repeated_methods_are_config_errors(tmp_path):
    bad_feature = HiggsConfig.quick().model_copy(update={"flow_features": ("mass_vis", "nope")})
    with pytest.raises(ConfigError, match="nope"):
        run_higgs(bad_feature, RunFolder(tmp_path / "a"))
    repeated = HiggsConfig.quick().model_copy(update={"methods": ("aware", "aware")})
    with pytest.raises(ConfigError, match="at most once"):
        run_higgs(repeated, RunFolder(tmp_path / "b"))


def test_flow_classifier_reads_its_features_and_the_flows_ratios():
    from robusthep.studies.higgs import flow_matrix
    from robusthep.train.flow_ratio import FlowRatioEnsemble

    rng = np.random.default_rng(0)
    table = {"mass_vis": rng.uniform(50, 150, 40), "met": rng.uniform(0, 60, 40)}
    labels = np.repeat([0, 1], 20)
    ratios = FlowRatioEnsemble(
        flow_matrix(table, ["mass_vis", "met"]), labels, np.ones(40), members=2, epochs=1
    )
    classifier = Classifier(
        torch.nn.Linear(3, 1), ("met",), np.zeros(3), np.ones(3), ratios, ("mass_vis", "met")
    )
    assert classifier.inputs(table).shape == (40, 3)
    assert classifier.scores(table).shape == (40,)
    with pytest.raises(FeatureMismatchError, match="mass_vis"):
        classifier.scores({"met": table["met"]})


def test_measurement_histograms_many_data_sets_as_one_at_a_time():
    from robusthep.infer import BinnedLikelihood
    from robusthep.studies.higgs import Measurement

    rng = np.random.default_rng(1)
    classifier = Classifier(torch.nn.Linear(2, 1), ("a", "b"), np.zeros(2), np.ones(2))
    likelihood = BinnedLikelihood(
        {"htautau": np.ones(4), "ztautau": np.full(4, 3.0)},
        signal="htautau",
        edges=np.linspace(0, 1, 5),
    )
    measurement = Measurement("baseline", classifier, likelihood)
    tables = [{"a": rng.normal(size=n), "b": rng.normal(size=n)} for n in (7, 1, 30)]
    many = measurement.counts_many(tables)
    assert [h.sum() for h in many] == [7, 1, 30]
    for table, histogram in zip(tables, many, strict=True):
        np.testing.assert_array_equal(histogram, measurement.counts(table))
    assert measurement.counts_many([]) == []
    with pytest.raises(FeatureMismatchError, match="'b'"):
        measurement.counts_many([tables[0], {"a": np.ones(2)}])


TINY = {
    "epochs": 3,
    "augment_copies": 1,
    "flow_members": 2,
    "flow_epochs": 2,
    "mu_values": (0.5, 2.0),
    "grid": (0.0, 1.0, 2.0, 3.0),
    "calibration_experiments": 12,
    "pseudo_experiments": 6,
}


@pytest.mark.slow
def test_tiny_study_is_reproducible_and_exports_a_workspace(tmp_path, one_thread, monkeypatch):
    import robusthep.studies.higgs as higgs

    runs = []
    for workers in (1, 2):
        config = HiggsConfig.quick().model_copy(update={**TINY, "workers": workers})
        folder = RunFolder(tmp_path / f"run{workers}")
        with monkeypatch.context() as patch:
            if workers == 1:  # in this process: score every pseudo-experiment on its own
                patch.setattr(higgs, "SCORE_BATCH_EVENTS", 1)
            runs.append(run_higgs(config, folder))
    first, second = runs
    assert first["methods"] == second["methods"]
    for method in ("baseline", "aware", "flows"):
        for kind in ("wilks", "neyman"):
            assert len(first["methods"][method][kind]["per_mu"]) == 2
    workspace = pyhf.Workspace(json.loads((tmp_path / "run1" / "workspace.json").read_text()))
    model = workspace.model()
    assert np.isfinite(pyhf.infer.mle.fit(workspace.data(model), model)[0])
    assert "tes" not in first["methods"]["flows"]["pulls"]  # method 3 profiles jes only
    assert "jes" in first["methods"]["flows"]["pulls"]
    for name in ("coverage", "width", "mu_hat", "pulls"):
        assert (tmp_path / "run1" / "figures" / f"{name}.png").exists()


def test_asimov_widths_separate_what_the_systematics_add():
    from robusthep.infer import BinnedLikelihood, NormSystematic, ShapeSystematic
    from robusthep.studies.higgs import _asimov_widths

    nominal = {"htautau": np.array([2.0, 5.0, 20.0]), "ztautau": np.array([60.0, 30.0, 10.0])}
    tilted = {"htautau": nominal["htautau"] * [1.0, 1.0, 1.0], "ztautau": [45.0, 30.0, 25.0]}
    flat = BinnedLikelihood(nominal, signal="htautau")
    widths = _asimov_widths(flat)
    assert widths["profiled"]["value"] == pytest.approx(widths["stat_only"]["value"])
    assert widths["systematic"]["value"] == pytest.approx(0.0, abs=1e-6)
    model = BinnedLikelihood(
        nominal,
        signal="htautau",
        shapes=[ShapeSystematic("jes", low=nominal, high=tilted)],
        norms=[NormSystematic("bkg_scale", 0.3, ("ztautau",))],
    )
    widths = _asimov_widths(model)
    assert widths["profiled"]["value"] > 1.05 * widths["stat_only"]["value"]
    assert widths["systematic"]["value"] ** 2 == pytest.approx(
        widths["profiled"]["value"] ** 2 - widths["stat_only"]["value"] ** 2
    )


def test_summary_counts_misses_against_chance_and_pulls_include_the_belt_noise():
    from robusthep.studies.higgs import _summary

    n = 400
    # μ = 1: 273 of 400 cover (0.6825); μ = 2: 240 of 400 (0.600, −3.6 binomial σ)
    lows = [np.where(np.arange(n) < k, 0.0, 5.0) for k in (273, 240)]
    highs = [np.full(n, 3.0), np.full(n, 3.0)]
    exact = _summary([1.0, 2.0], lows, highs)
    belt = _summary([1.0, 2.0], lows, highs, calibration=n)
    assert [row["within_2_sigma"] for row in exact["per_mu"]] == [True, False]
    assert exact["outside_2_sigma"]["value"] == 1
    assert exact["outside_2_sigma"]["expected_by_chance"] == pytest.approx(2 * 0.045, abs=0.01)
    assert belt["outside_2_sigma"]["expected_by_chance"] > 3 * 0.045
    binomial = np.sqrt(0.6827 * 0.3173 / n)
    assert exact["per_mu"][1]["pull"]["value"] == pytest.approx((0.6 - 0.6827) / binomial)
    # equal calibration and evaluation sizes: the spread grows by √2
    assert belt["per_mu"][1]["pull"]["value"] == pytest.approx(
        (0.6 - 0.6827) / (binomial * np.sqrt(2))
    )
    assert exact["pull_chi2"]["dof"] == 2
    assert exact["pull_chi2"]["p_value"] < belt["pull_chi2"]["p_value"] < 0.05


CONFIGS = sorted((Path(__file__).parents[2] / "docs" / "configs" / "higgs").glob("*.toml"))


def test_the_documented_run_configurations_are_found():
    assert len(CONFIGS) >= 7


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_the_documented_run_configurations_load(path):
    from robusthep.studies.config import load_config

    config = load_config(HiggsConfig, path)
    assert config.calibration_stream != config.evaluation_stream
    assert set(config.mu_values) <= set(config.grid)  # every true μ a node of the belt
