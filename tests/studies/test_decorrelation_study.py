import json

import numpy as np
import pytest
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.studies import decorrelation
from robusthep.studies.decorrelation import (
    DecorrelationStudyConfig,
    pareto_front,
    run_decorrelation_study,
)


def _jets(n, seed=0):
    """W-like signal peaked at 80 GeV over a falling QCD-like background; feature 0 tags
    without knowing the mass, feature 1 is the mass smeared, feature 2 is noise."""
    generator = np.random.default_rng(seed)
    labels = (generator.random(n) < 0.5).astype(float)
    mass = np.where(labels == 1, generator.normal(80, 8, n), 50 + generator.exponential(60, n))
    features = np.stack(
        [
            labels + generator.normal(0, 1.2, n),
            mass + generator.normal(0, 5, n),
            generator.normal(0, 1, n),
        ],
        axis=1,
    )
    return features, labels, np.ones(n), mass


def test_study_runs_every_point_and_is_json_ready():
    features, labels, weights, mass = _jets(2000)
    config = DecorrelationStudyConfig(
        methods=("unconstrained", "disco", "mode", "adversary"),
        strengths={"disco": (10.0,), "mode": (10.0,), "adversary": (1.0,)},
        hidden=(16,),
        epochs=1,
        batch_size=512,
        bootstrap=0,
        baseline_features={"feature 0": 0},
    )
    results = run_decorrelation_study(features, labels, weights, mass, config)
    methods = [(p["method"], p["strength"]) for p in results["points"]]
    assert methods == [
        ("unconstrained", 0.0),
        ("disco", 10.0),
        ("mode", 10.0),
        ("adversary", 1.0),
        ("feature 0", 0.0),
    ]
    assert [p["label"] for p in results["points"]][2] == "MoDe[0]"
    assert results["events"] == {"train": 1400, "test": 600}
    for point in results["points"]:
        assert set(point["metrics"]) >= {"auc", "R50", "inverse_jsd50", "R10"}
        assert len(point["passing_background_mass"]["50"]) == 50
    json.dumps(results, allow_nan=False)


@pytest.mark.slow
def test_disco_trades_rejection_for_less_sculpting():
    features, labels, weights, mass = _jets(20000, seed=1)
    config = DecorrelationStudyConfig(
        methods=("unconstrained", "disco"),
        strengths={"disco": (30.0,)},
        hidden=(32, 32),
        epochs=10,
        batch_size=2048,
        lr=3e-3,
        bootstrap=0,
    )
    points = run_decorrelation_study(features, labels, weights, mass, config)["points"]
    unconstrained, disco = (p["metrics"] for p in points)
    assert disco["inverse_jsd50"]["value"] > 2 * unconstrained["inverse_jsd50"]["value"]
    assert disco["R50"]["value"] < unconstrained["R50"]["value"]


def test_pareto_front_treats_none_as_infinite():
    points = [
        {"metrics": {"R50": {"value": 10.0}, "inverse_jsd50": {"value": None}}},
        {"metrics": {"R50": {"value": 20.0}, "inverse_jsd50": {"value": 3.0}}},
        {"metrics": {"R50": {"value": 5.0}, "inverse_jsd50": {"value": 2.0}}},
    ]
    assert pareto_front(points) == [0, 1]


def test_bad_input():
    features, labels, weights, mass = _jets(100)
    with pytest.raises(DataError, match="mass has 99 rows"):
        run_decorrelation_study(features, labels, weights, mass[:99])
    with pytest.raises(DataError, match="NaN"):
        run_decorrelation_study(features, labels, weights, np.where(mass > 100, np.nan, mass))
    with pytest.raises(ValueError, match="unknown|extra"):
        DecorrelationStudyConfig(epoch=3)


def test_every_order_and_double_disco_with_its_abcd_closure():
    features, labels, weights, mass = _jets(2000)
    config = DecorrelationStudyConfig(
        methods=("mode", "double_disco"),
        strengths={"mode": (10.0,), "double_disco": (0.0, 10.0)},
        mode_orders=(0, 1, 2),
        hidden=(8,),
        epochs=1,
        batch_size=512,
        bootstrap=0,
    )
    results = run_decorrelation_study(features, labels, weights, mass, config)
    labels_found = [p["label"] for p in results["points"]]
    assert labels_found == ["MoDe[0]", "MoDe[1]", "MoDe[2]", "Double DisCo", "Double DisCo"]
    for point in results["points"][3:]:
        abcd = point["abcd"]
        assert abcd["closure"] == pytest.approx(abcd["predicted"] / abcd["yields"]["A"])
        assert 0 < abcd["signal_efficiency_both"] <= 0.5 + 1e-9
    assert sum(results["background_mass"]) > 0


def _batch(n=2048, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=generator)
    y = (torch.rand(n, generator=generator) < 0.4).float()
    mass = 50 + 250 * torch.rand(n, generator=generator)
    return x, y, torch.ones(n), mass


@pytest.mark.parametrize("order", [0, 1, 2])
def test_the_study_losses_with_ours_and_modeloss_agree_on_identical_batches(order):
    pytest.importorskip("modeloss.pytorch")
    config = DecorrelationStudyConfig()
    batch = _batch()
    network = torch.nn.Sequential(torch.nn.Linear(3, 1))
    losses = {}
    for method in ("mode", "modeloss"):
        loss_fn = decorrelation._loss_function(method, 10.0, order, config, batch[3])
        value = loss_fn(network, batch)
        (gradient,) = torch.autograd.grad(value, network[0].weight)
        losses[method] = (value.item(), gradient)
    assert losses["mode"][0] == pytest.approx(losses["modeloss"][0], rel=1e-5)
    torch.testing.assert_close(losses["mode"][1], losses["modeloss"][1], rtol=1e-4, atol=1e-6)


def test_training_with_ours_and_with_modeloss_gives_the_same_tagger():
    pytest.importorskip("modeloss.pytorch")
    features, labels, weights, mass = _jets(3000, seed=2)
    config = DecorrelationStudyConfig(
        methods=("mode", "modeloss"),
        strengths={"mode": (10.0,), "modeloss": (10.0,)},
        mode_orders=(0, 1),
        hidden=(16,),
        epochs=2,
        batch_size=512,
        bootstrap=0,
    )
    points = run_decorrelation_study(features, labels, weights, mass, config)["points"]
    ours = {p["order"]: p["metrics"] for p in points if p["method"] == "mode"}
    theirs = {p["order"]: p["metrics"] for p in points if p["method"] == "modeloss"}
    for order in (0, 1):
        for name in ("auc", "R50", "inverse_jsd50"):
            assert ours[order][name]["value"] == pytest.approx(
                theirs[order][name]["value"], rel=1e-3
            )


def test_bad_strengths_weights_and_methods():
    features, labels, weights, mass = _jets(200)
    with pytest.raises(ConfigError, match="λ must be finite and ≥ 0"):
        run_decorrelation_study(
            features, labels, weights, mass, DecorrelationStudyConfig(strengths={"disco": (-1.0,)})
        )
    with pytest.raises(ConfigError, match="unknown method 'dsico'"):
        run_decorrelation_study(
            features, labels, weights, mass, DecorrelationStudyConfig(strengths={"dsico": (1.0,)})
        )
    with pytest.raises(DataError, match="not all zero"):
        run_decorrelation_study(features, labels, np.zeros(200), mass)
    with pytest.raises(DataError, match="auxiliary columns may not be named"):
        run_decorrelation_study(features, labels, weights, mass, auxiliary={"mass": mass})
    with pytest.raises(ValueError, match="methods"):
        DecorrelationStudyConfig(methods=("pivot",))
