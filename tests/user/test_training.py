"""train_model, predict, verify_model on the user's own table."""

import json

import numpy as np
import pytest
import torch

from robusthep.data.table import write_table
from robusthep.errors import ConfigError, DataError
from robusthep.io import OnnxModel
from robusthep.user import ModelFolder, TrainConfig, predict, train_model, verify_model

FEATURES = ["pt", "chi2", "tau21"]
# Tiny networks and audits: each training takes about a second on one core.
TINY = {"hidden": (8, 8), "epochs": 2, "audit_pairs": 32, "audit_steps": 2, "batch_size": 128}


def config(**values):
    return TrainConfig.create(**{"target": "label", "features": FEATURES, **TINY, **values})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, jet_columns):
    settings = config(
        increasing=["pt"], decreasing=["chi2"], weights="weight", decorrelate="mass", lam=5.0
    )
    path = write_table(jet_columns, tmp_path_factory.mktemp("data") / "jets.parquet")
    return train_model(path, settings, tmp_path_factory.mktemp("runs") / "tagger")


def test_the_model_folder_holds_model_export_metrics_and_report(trained):
    files = {p.relative_to(trained.path).as_posix() for p in trained.path.rglob("*")}
    for name in (
        "models/model/model.json",
        "models/model/model.safetensors",
        "models/model.onnx",
        "results.json",
        "config.toml",
        "report.html",
        "figures/roc.png",
        "figures/scores.png",
        "figures/sculpting.png",
    ):
        assert name in files
    results = json.loads((trained.path / "results.json").read_text())
    assert set(results["metrics"]) == {"auc", "R50", "inverse_jsd50"}
    assert 0.5 < results["metrics"]["auc"]["value"] <= 1
    assert results["verification"]["passed"] is True
    assert results["guarantees"]["increasing"] == ["pt"]


def test_guarantees_are_reverified_on_the_export(trained):
    check = trained.check
    assert check.passed, check.problems
    assert set(check.audits) == {"saved", "onnx"}
    for audit in check.audits.values():
        assert set(audit["monotonic_features"]) == {"pt", "chi2"}
        assert audit["violations"] == 0
    assert check.max_difference < 1e-5


def test_predict_gives_probabilities_that_the_onnx_export_reproduces(trained, jet_columns):
    x = np.column_stack([jet_columns[name] for name in FEATURES])
    scores = predict(trained.path, x)
    assert scores.shape == (len(x),)
    assert ((scores >= 0) & (scores <= 1)).all()
    onnx = OnnxModel(ModelFolder(trained.path).onnx)(torch.as_tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(scores, onnx.numpy().reshape(-1), atol=1e-5)


def test_monotonic_in_the_raw_features(trained):
    x = np.tile([[60.0, 3.0, 0.5]], (50, 1))
    x[:, 0] = np.linspace(0, 600, 50)  # pt, even beyond the data
    assert (np.diff(predict(trained.path, x)) >= 0).all()
    x = np.tile([[60.0, 3.0, 0.5]], (50, 1))
    x[:, 1] = np.linspace(0, 60, 50)  # chi2
    assert (np.diff(predict(trained.path, x)) <= 0).all()


def test_same_seed_same_model(tmp_path, jet_columns):
    first = train_model(jet_columns, config(), tmp_path / "a", report=False)
    second = train_model(jet_columns, config(), tmp_path / "b", report=False)
    x = np.column_stack([jet_columns[name] for name in FEATURES])
    np.testing.assert_array_equal(predict(first.path, x), predict(second.path, x))
    third = train_model(jet_columns, config(seed=1), tmp_path / "c", report=False)
    assert third.check.passed
    assert not np.array_equal(predict(first.path, x), predict(third.path, x))


@pytest.mark.parametrize(
    "method",
    [
        "mode0",
        *(
            pytest.param(m, marks=pytest.mark.slow)
            for m in ("mode1", "mode2", "disco", "adversary")
        ),
    ],
)
def test_every_decorrelation_method_trains_and_keeps_its_guarantees(tmp_path, jet_columns, method):
    trained = train_model(
        jet_columns,
        config(decorrelate="mass", method=method, increasing=["pt"], epochs=1),
        tmp_path / method,
        report=False,
    )
    assert trained.check.passed
    assert "inverse_jsd50" in trained.results["metrics"]


@pytest.mark.slow
def test_a_regressor_predicts_the_target_in_its_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 1000)
    table = {"x": x, "noise": rng.normal(size=1000), "y": 100.0 + 20.0 * x}
    trained = train_model(
        table,
        TrainConfig.create(
            target="y",
            features=["x", "noise"],
            task="regress",
            increasing=["x"],
            epochs=30,
            hidden=(8,),
            lr=1e-2,
            audit_pairs=32,
            audit_steps=2,
        ),
        tmp_path / "reg",
    )
    metrics = trained.results["metrics"]
    assert metrics["rmse"]["value"] < 0.3 * metrics["rmse_of_the_mean"]["value"]
    predicted = predict(trained.path, np.array([[0.0, 0.0], [10.0, 0.0]]))
    assert predicted[1] > predicted[0]
    assert (trained.path / "figures" / "predictions.png").is_file()


def test_a_classifier_target_that_is_not_0_1_is_an_error(tmp_path, jet_columns):
    with pytest.raises(DataError, match=r"'mass' of a classifier must hold 0 .* and 1"):
        train_model(jet_columns, config(target="mass", features=["pt"]), tmp_path / "x")
    one_class = {**jet_columns, "label": np.ones(800)}
    with pytest.raises(DataError, match="holds only signal"):
        train_model(one_class, config(), tmp_path / "y")


def test_nan_and_missing_columns_are_errors_before_training(tmp_path, make_jets):
    columns = make_jets(rows=100)
    columns["pt"][[4, 9]] = np.nan
    path = write_table(columns, tmp_path / "jets.csv")
    with pytest.raises(DataError, match=r"2 NaN .* pt: 2 \(first rows \[4, 9\]\)"):
        train_model(path, config(), tmp_path / "a")
    with pytest.raises(DataError, match=r"no column 'eta'; its columns are: pt, chi2"):
        train_model(path, config(features=["pt", "eta"]), tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_constant_feature_and_too_few_rows(tmp_path, jet_columns):
    constant = {**jet_columns, "pt": np.ones(800)}
    with pytest.raises(DataError, match=r"\['pt'\] are constant"):
        train_model(constant, config(), tmp_path / "a")
    few = {name: values[:3] for name, values in jet_columns.items()}
    with pytest.raises(DataError, match="too few"):
        train_model(few, config(), tmp_path / "b")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"increasing": ["eta"]}, "not a feature"),
        ({"increasing": ["pt"], "decreasing": ["pt"]}, "both increasing and decreasing"),
        ({"decorrelate": "pt"}, "also a feature"),
        ({"decorrelate": "mass", "task": "regress"}, "classifiers only"),
        ({"method": "mode3"}, "mode0"),
        ({"hidden": (7,)}, "multiples of group_size"),
        ({"epochz": 3}, "unknown key 'epochz'"),
        ({"features": ["pt", "pt"]}, "more than once"),
    ],
)
def test_bad_settings_are_config_errors(values, message):
    with pytest.raises(ConfigError, match=message):
        config(**values)


def test_verify_model_catches_a_tampered_model(trained, tmp_path):
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(trained.path, copy)
    description = copy / "models" / "model" / "model.json"
    document = json.loads(description.read_text())
    document["metadata"]["lipschitz"] = 1e-4  # claims a bound the weights do not have
    description.write_text(json.dumps(document))
    check = verify_model(copy, pairs=64, steps=2)
    assert not check.passed
    assert any("exceeds the recorded" in problem for problem in check.problems)
    assert check.audits["onnx"]["lipschitz_violations"] > 0


def test_verify_model_on_given_rows(trained, make_jets):
    check = verify_model(trained.path, make_jets(rows=50, seed=3), pairs=32, steps=1)
    assert check.points == 50 and check.passed
