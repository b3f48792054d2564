import json

import numpy as np
import pytest

from robusthep.errors import DataError
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
