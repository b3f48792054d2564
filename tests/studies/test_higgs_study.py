"""The higgs study: bad input at its boundary, and a tiny end-to-end run (slow)."""

import json
from pathlib import Path

import numpy as np
import pyhf
import pytest
import torch

from robusthep.errors import ConfigError
from robusthep.infer import FeatureMismatchError, NeymanBelt
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
    "training_seeds": 2,
    "seed_experiments": 10,
}


@pytest.mark.slow
def test_tiny_study_is_reproducible_resumes_and_exports_a_workspace(
    tmp_path, one_thread, monkeypatch
):
    import robusthep.studies.higgs as higgs
    from robusthep.studies._resume import ResultStore

    class Stopped(Exception):
        pass

    def killed(*args, **kwargs):
        raise Stopped  # as if the run were stopped after its evaluations

    saved = []
    save = ResultStore.save

    def counted(self, key, result):
        saved.append(key)
        return save(self, key, result)

    runs, fitted = [], []
    for workers in (1, 2):
        config = HiggsConfig.quick().model_copy(update={**TINY, "workers": workers})
        folder = RunFolder(tmp_path / f"run{workers}")
        with monkeypatch.context() as patch:
            patch.setattr(ResultStore, "save", counted)
            if workers == 1:  # in this process: score every pseudo-experiment on its own
                patch.setattr(higgs, "SCORE_BATCH_EVENTS", 1)
            else:  # stopped, then started again: the finished chunks are not fitted again
                with monkeypatch.context() as stop:
                    stop.setattr(higgs, "_width_comparison", killed)
                    with pytest.raises(Stopped):
                        run_higgs(config, folder)
                assert (tmp_path / "run2" / "checkpoints").is_dir()
                fitted.append(len(saved))
                saved.clear()
            runs.append(run_higgs(config, folder))
            fitted.append(len(saved))
            saved.clear()
    # chunks (halves of a μ's pseudo-experiments) per method (4 in the quick configuration):
    # 4 grid μ, 2 true μ, 2 trainings
    assert fitted == [4 * 2 * (4 + 2 + 2), 4 * 2 * (4 + 2), 4 * 2 * 2]
    assert not (tmp_path / "run2" / "checkpoints").exists()  # removed once results are in
    first, second = runs
    assert first["methods"] == second["methods"]
    assert first["training_seeds"] == second["training_seeds"]
    trainings = first["training_seeds"]["methods"]
    assert first["training_seeds"]["seeds"]["value"] == [0, 1]
    for method in ("baseline", "aware", "flows", "inferno"):
        ranges = trainings[method]["range"]["value"]
        assert len(ranges) == 2 and ranges[0] != ranges[1]  # two trainings, two results
    assert len(trainings["aware"]["ratio_per_training"]["value"]) == 2
    for method in ("baseline", "aware", "flows", "inferno"):
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


def test_width_comparison_is_paired_and_carries_the_belts_noise():
    from robusthep.studies.higgs import _width_comparison

    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 3.0, 7)

    def method(scale, n_calibration):
        # μ̂ = μ + scale·z: the Neyman width is ≈ 2·scale; the Wilks widths are given.
        calibration = [mu + scale * rng.standard_normal(n_calibration) for mu in grid]
        mu_hat = np.repeat([1.0, 2.0], 500) + scale * rng.standard_normal(1000)
        low, high = NeymanBelt.calibrate(grid, calibration).bounds(mu_hat)
        return {"calibration": calibration, "mu_hat_all": mu_hat, "neyman_width": high - low}

    shared = rng.gamma(30.0, 0.02, 1000)
    raw = {"baseline": method(0.3, 4000), "aware": method(0.27, 4000)}
    raw["baseline"] |= {"wilks_width": shared}
    raw["aware"] |= {"wilks_width": 0.9 * shared + 0.01 * rng.standard_normal(1000)}
    raw["aware"]["wilks_width"][3] = np.nan  # a failed fit: excluded and counted
    result = _width_comparison(raw, grid, seed=0)["aware"]
    assert result["wilks"]["value"] == pytest.approx(0.9, abs=0.003)
    assert result["wilks"]["excluded"] == 1
    neyman = result["neyman"]
    assert neyman["value"] == pytest.approx(0.9, abs=0.03)
    # 4 000 per node: each belt's width is known to ≈ 1%, so the ratio's to ≈ 1.5%;
    # the pseudo-experiments, all inside the belt's linear part, add nothing.
    assert 0.004 < neyman["belt_error"] < 0.03
    assert neyman["error"] == pytest.approx(
        np.hypot(neyman["belt_error"], neyman["pseudo_experiment_error"])
    )


def test_training_spread_averages_the_ratio_over_trainings_and_counts_failed_fits():
    from robusthep.studies.higgs import _training_spread

    rng = np.random.default_rng(1)
    z = rng.standard_normal(400)  # the same pseudo-experiments for every training
    base_scales = np.array([0.30, 0.33, 0.28, 0.31])
    aware_scales = np.array([0.27, 0.31, 0.29, 0.26])
    mu_hat = {
        "baseline": 1.0 + base_scales[:, None] * z,
        "aware": 1.0 + aware_scales[:, None] * z,
    }
    mu_hat["aware"][2, 7] = np.nan  # a failed fit: left out of the range, counted
    result = _training_spread(mu_hat, seed=0)
    ratios = aware_scales / base_scales
    per_training = np.array(result["aware"]["ratio_per_training"]["value"])
    assert per_training == pytest.approx(ratios, rel=0.02)
    ratio = result["aware"]["ratio"]
    assert ratio["value"] == pytest.approx(per_training.mean())
    assert ratio["seed_std"] == pytest.approx(per_training.std(ddof=1))
    assert ratio["training_error"] == pytest.approx(per_training.std(ddof=1) / 2)
    # μ̂ = 1 + scale·z on shared z: a resample moves every range by the same factor,
    # so the pseudo-experiments add (almost) nothing to the paired ratio's error
    assert ratio["pseudo_experiment_error"] < 0.1 * ratio["training_error"]
    assert ratio["error"] == pytest.approx(
        np.hypot(ratio["training_error"], ratio["pseudo_experiment_error"])
    )
    assert result["aware"]["failed"]["value"] == 1
    assert result["baseline"]["failed"]["value"] == 0
    assert "ratio" not in result["baseline"]
    low, high = np.quantile(z, [0.15865, 0.84135])
    assert result["baseline"]["range"]["value"] == pytest.approx(base_scales * (high - low))


def test_shifted_copies_are_regrouped_by_event_with_missing_copies_weightless():
    from robusthep.studies.higgs import _by_event, _copy_spread

    # Three copies of events 0–2; a shift moved event 1 out of the second copy.
    events = np.array([0, 1, 2, 0, 2, 0, 1, 2])
    values = torch.arange(8.0)
    weights = torch.ones(8)
    grouped, grouped_weights = _by_event([values, weights], events, [3, 2, 3])
    assert grouped.tolist() == [[0.0, 3.0, 5.0], [1.0, 0.0, 6.0], [2.0, 4.0, 7.0]]
    assert grouped_weights.tolist() == [[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]]
    # The missing copy is ignored: event 1's logits are 1 and 6 only.
    spread = _copy_spread(grouped, grouped_weights)
    expected = (np.var([0, 3, 5]) + np.var([1, 6]) + np.var([2, 4, 7])) / 3
    assert float(spread) == pytest.approx(expected)


@pytest.fixture(scope="module")
def tiny_sample(tmp_path_factory):
    from robusthep.parallel import Executor
    from robusthep.sim import HiggsSettings, generate_higgs

    settings = HiggsSettings(events=300, shard_events=150, fast=True, seed=5)
    folder = tmp_path_factory.mktemp("higgs") / "sample"
    sample = generate_higgs(settings, output=folder, executor=Executor("local", workers=1))
    return dict(sample.columns)


def test_the_invariance_penalty_makes_the_score_move_less_under_the_shifts(tiny_sample, one_thread):
    from robusthep.sim import apply_systematics
    from robusthep.studies.higgs import SIGNAL, train_classifier

    yields = {name: 100.0 for name in ("ztautau", "ttbar", "diboson")} | {SIGNAL: 30.0}
    config = HiggsConfig.quick().model_copy(update={"epochs": 15, "hidden": (32,)})
    tagged = tiny_sample | {"row": np.arange(len(tiny_sample["weight"]))}
    shifted = apply_systematics(tagged, {"tes": 1.02, "jes": 1.02, "soft_met": 6.0}, seed=9)
    movement = {}
    for invariance in (0.0, 3000.0):
        update = {"invariance": invariance}
        classifier = train_classifier(
            tiny_sample, yields, config.model_copy(update=update), aware=True
        )
        nominal = classifier.scores(tiny_sample)[shifted["row"]]
        movement[invariance] = float(np.mean(np.abs(classifier.scores(shifted) - nominal)))
    # seeds 0, 1, 2 gave 0.34, 0.56, 0.23 of the unpenalised movement
    assert movement[3000.0] < 0.7 * movement[0.0]


def test_inferno_derivatives_are_the_likelihoods_slopes_at_the_nominal_point():
    from robusthep.infer import BinnedLikelihood, NormSystematic, ShapeSystematic
    from robusthep.sim import PRIORS
    from robusthep.studies.higgs import (
        BACKGROUNDS,
        SCALES,
        SHAPES,
        SIGNAL,
        _inferno_derivatives,
        _scale_slopes,
    )

    rng = np.random.default_rng(3)
    processes = (SIGNAL, *BACKGROUNDS)
    counts = rng.uniform(50, 500, (6, len(processes), 5))  # nominal, tes ±, jes ±, soft_met +
    config = HiggsConfig.quick()
    table = lambda v: dict(zip(processes, counts[v], strict=True))  # noqa: E731
    mirrored = {p: 2 * counts[0, i] - counts[5, i] for i, p in enumerate(processes)}
    priors = PRIORS[config.prior_set]
    likelihood = BinnedLikelihood(
        table(0),
        signal=SIGNAL,
        shapes=[
            ShapeSystematic("tes", low=table(2), high=table(1)),
            ShapeSystematic("jes", low=table(4), high=table(3)),
            ShapeSystematic("soft_met", low=mirrored, high=table(5)),
        ],
        norms=[NormSystematic(n, priors[n].sigma, p) for n, p in SCALES.items()],
    )
    assert likelihood.names == ["mu", *SHAPES, *SCALES]
    derivatives = _inferno_derivatives(torch.as_tensor(counts), _scale_slopes(config)).numpy()
    step = 1e-6
    for index in range(len(likelihood.names)):
        theta = np.zeros(len(likelihood.names))
        theta[0] = 1.0
        up, down = theta.copy(), theta.copy()
        up[index] += step
        down[index] -= step
        slope = (likelihood.expected(up) - likelihood.expected(down)) / (2 * step)
        np.testing.assert_allclose(derivatives[index], slope, rtol=1e-5)


class _TwoCategories(torch.nn.Module):
    """Category 1 for a positive first input, 4 otherwise, of 6."""

    def forward(self, x):
        logits = torch.zeros(len(x), 6)
        logits[x[:, 0] > 0, 1] = 1.0
        logits[x[:, 0] <= 0, 4] = 1.0
        return logits


def test_categories_with_under_one_percent_of_the_events_join_their_neighbours(tiny_sample):
    from robusthep.sim import FEATURES
    from robusthep.studies.higgs import SIGNAL, build_likelihood, feature_matrix

    x = feature_matrix(tiny_sample, FEATURES)
    mean = x.mean(axis=0)
    classifier = Classifier(
        _TwoCategories(), tuple(FEATURES), mean, np.ones(len(FEATURES)), categories=6
    )
    assert set(classifier.scores(tiny_sample)) == {1.0, 4.0}
    yields = {name: 100.0 for name in ("ztautau", "ttbar", "diboson")} | {SIGNAL: 30.0}
    likelihood = build_likelihood(tiny_sample, classifier, yields, HiggsConfig.quick())
    assert likelihood.edges.tolist() == [-0.5, 1.5, 5.5]  # empty 0 and 2, 3, 5 joined
    assert np.all(likelihood.nominal.sum(axis=0) > 0)


def test_inferno_training_lowers_the_profiled_width_it_is_trained_for(tiny_sample, one_thread):
    from robusthep.studies._common import relu_mlp, seeded
    from robusthep.studies.higgs import SIGNAL, _asimov_widths, build_likelihood, train_inferno

    yields = {name: 300.0 for name in ("ztautau", "ttbar", "diboson")} | {SIGNAL: 100.0}
    config = HiggsConfig.quick().model_copy(
        update={"inferno_epochs": 60, "hidden": (32,), "bins": 4, "inferno_batch_size": 200}
    )
    trained = train_inferno(tiny_sample, yields, config)
    assert trained.categories == 4
    untrained = Classifier(
        seeded(lambda: relu_mlp(len(trained.features), config.hidden, 4), config.seed),
        trained.features,
        trained.mean,
        trained.std,
        categories=4,
    )
    widths = {
        name: _asimov_widths(build_likelihood(tiny_sample, c, yields, config))["profiled"]["value"]
        for name, c in (("trained", trained), ("untrained", untrained))
    }
    assert widths["trained"] < 0.8 * widths["untrained"]
    # its categories are ranked by signal purity on the training events
    assert sorted(trained.ranks) == list(range(4))
    rank = trained.scores(tiny_sample)
    processes = np.asarray(tiny_sample["process"])
    signal = processes == SIGNAL
    weights = np.array([yields[p] / np.sum(processes == p) for p in processes])
    purity = [
        np.sum(weights[(rank == r) & signal]) / np.sum(weights[rank == r])
        for r in range(4)
        if np.any(rank == r)
    ]
    assert purity == sorted(purity)
    again = train_inferno(tiny_sample, yields, config)  # seeded: the same network
    for a, b in zip(
        trained.model.state_dict().values(), again.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


CONFIGS = sorted((Path(__file__).parents[2] / "docs" / "configs" / "higgs").glob("*.toml"))


def test_the_documented_run_configurations_are_found():
    assert len(CONFIGS) >= 7


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_the_documented_run_configurations_load(path):
    from robusthep.studies.config import load_config

    config = load_config(HiggsConfig, path)
    assert config.calibration_stream != config.evaluation_stream
    assert set(config.mu_values) <= set(config.grid)  # every true μ a node of the belt
