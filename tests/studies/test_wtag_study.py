"""The wtag study on a synthetic W-vs-QCD table (no Pythia), its pieces, and its bad input."""

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.report import RunFolder
from robusthep.sim import WJetsSettings
from robusthep.studies import wtag
from robusthep.studies.decorrelation import DecorrelationStudyConfig
from robusthep.studies.wtag import CalibrationConfig, WtagConfig, best_points, jet_calibration

METHODS = ("unconstrained", "disco", "mode", "modeloss", "adversary", "double_disco")


def synthetic_wjets(n=1600, seed=0):
    """The columns of the wjets sample: a W peak over a falling QCD mass spectrum, τ21
    lower for W and rising with ρ' for QCD, the hard process's pT smeared into the jet's."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.4).astype(np.int64)
    pt = rng.uniform(250, 1000, n)
    mass = np.where(label == 1, rng.normal(80, 10, n), 20 + rng.exponential(60, n))
    mass = np.clip(mass, 5, 500)
    rho = np.log(mass**2 / pt)
    tau21 = np.clip(
        np.where(label == 1, 0.3, 0.25 + 0.08 * rho) + rng.normal(0, 0.1, n), 0.01, 0.99
    )
    tau1 = np.clip(mass / pt * 0.5 + rng.normal(0, 0.01, n), 1e-3, None)
    tau32 = np.clip(rng.normal(0.65, 0.1, n), 0.01, 0.99)
    return {
        "jet_pt": pt,
        "jet_eta": rng.uniform(-2, 2, n),
        "jet_mass": mass,
        "jet_mass_sd": 0.8 * mass,
        "jet_tau1": tau1,
        "jet_tau2": tau21 * tau1,
        "jet_tau3": tau32 * tau21 * tau1,
        "jet_tau21": tau21,
        "jet_tau32": tau32,
        "jet_d2": np.where(label == 1, 1.2, 2.5) + rng.normal(0, 0.6, n),
        "jet_n_constituents": rng.poisson(np.where(label == 1, 25, 30)).astype(float),
        "pt_hat": pt * (1 + rng.normal(0, 0.08, n)),
        "label": label,
        "weight": rng.uniform(0.5, 2, n),
        "weight_flat_pt": rng.uniform(0.5, 2, n),
    }


TINY = WtagConfig.quick().model_copy(
    update={
        "workers": 1,
        "decorrelation": DecorrelationStudyConfig(
            methods=METHODS,
            strengths={
                "disco": (10.0,),
                "mode": (10.0,),
                "modeloss": (10.0,),
                "adversary": (1.0,),
                "double_disco": (10.0,),
            },
            hidden=(8,),
            epochs=1,
            batch_size=256,
            bootstrap=3,
            adversary_steps=1,
        ),
        "calibration": CalibrationConfig(
            steps=20, hidden=(8,), gaussian_events=200, gaussian_epochs=1
        ),
    }
)


@pytest.fixture
def fake_sample(monkeypatch):
    columns = synthetic_wjets()

    def generate(settings, **options):
        return SimpleNamespace(columns=columns, path=Path("/synthetic"), meta={})

    monkeypatch.setattr(wtag, "generate_wjets", generate)
    return columns


def test_tiny_study_writes_what_it_promises(tmp_path, fake_sample, one_thread):
    pytest.importorskip("modeloss.pytorch")
    folder = RunFolder(tmp_path / "run")
    results = wtag.run_wtag(TINY, folder)
    stored = json.loads((tmp_path / "run" / "results.json").read_text())
    assert stored == json.loads(json.dumps(results))
    labels = [p["label"] for p in results["points"]]
    assert labels == [
        "unconstrained",
        "DisCo",
        "MoDe[0]",
        "modeloss MoDe[0]",
        "adversary",
        "Double DisCo",
        "τ21",
        "D2",
        "τ21 DDT",
        "τ21 ρ' percentile",
    ]
    for point in results["points"]:
        assert {"auc", "R50", "inverse_jsd50", "R20", "inverse_jsd10"} <= set(point["metrics"])
        assert set(point["passing_background_mass"]) == {"50", "20", "10"}
    assert "closure" in results["points"][5]["abcd"]
    for label, front in results["pareto"].items():
        assert front["value"] and all(labels[i] == label for i in front["value"])
    assert set(results["best"]) == set(labels)
    calibration = results["calibration"]
    assert set(calibration["jets"]["bias"]) == {"uncalibrated", "mse", "prior_independent"}
    assert set(calibration["jets"]["bias"]["mse"]) == {"falling", "rising"}
    assert set(calibration["jets"]["prior_dependence"]["mse"]) == {"falling", "rising"}
    assert calibration["gaussian"]["analytic_mse_bias"]["value"] == -0.5
    for name in ("pareto", "sculpting", "abcd", "calibration"):
        assert (tmp_path / "run" / "figures" / f"{name}.png").exists()
    report = (tmp_path / "run" / "report.html").read_text()
    for title in ("ABCD closure", "modeloss", "Prior-independent calibration"):
        assert title in report


def test_missing_modeloss_skips_its_rows_with_a_message(tmp_path, fake_sample, monkeypatch):
    from robusthep.studies import decorrelation

    monkeypatch.setattr(decorrelation, "modeloss_missing", lambda: "modeloss cannot be imported")
    config = TINY.model_copy(
        update={
            "decorrelation": TINY.decorrelation.model_copy(
                update={"methods": ("unconstrained", "modeloss")}
            )
        }
    )
    messages = []
    results = wtag.run_wtag(config, RunFolder(tmp_path / "run"), log=messages.append)
    assert results["skipped"] == {"modeloss": "modeloss cannot be imported"}
    assert [p["method"] for p in results["points"]][:1] == ["unconstrained"]
    assert "modeloss" not in [p["method"] for p in results["points"]]
    assert any("skipping the modeloss rows" in m for m in messages)
    assert "Skipped: modeloss cannot be imported" in (tmp_path / "run" / "report.html").read_text()


def test_the_mass_is_never_a_feature(tmp_path):
    for column in ("jet_mass", "jet_mass_sd"):
        config = TINY.model_copy(update={"features": ("jet_pt", column)})
        with pytest.raises(ConfigError, match="protected mass"):
            wtag.run_wtag(config, RunFolder(tmp_path / column))


def test_sizes_hit_the_generated_caches():
    # `robusthep generate wjets --quick` and `--events 12000 --fast` build these settings
    assert WtagConfig.quick().settings() == WJetsSettings.quick()
    assert WtagConfig().settings() == WJetsSettings.from_mapping({"events": 12000, "fast": True})


def test_best_points_skip_undefined_metrics():
    def point(label, r, j, undefined=False):
        jsd = {"value": j, "undefined": True} if undefined else {"value": j}
        return {"label": label, "metrics": {"R50": {"value": r}, "inverse_jsd50": jsd}}

    points = [point("a", 10, 2), point("a", 3, 10), point("a", 50, None, undefined=True)]
    assert best_points(points) == {"a": 1}
    assert best_points([point("b", 10, None)]) == {"b": 0}  # None: infinite 1/JSD


@pytest.mark.slow
def test_jet_calibration_mse_follows_the_prior_and_maximum_likelihood_does_not(one_thread):
    rng = np.random.default_rng(1)
    true = rng.uniform(200, 1200, 12_000)
    reco = true * (1 + rng.normal(0, 0.1, true.size))
    found = jet_calibration(reco, true, CalibrationConfig(steps=2500, batch_size=256), seed=0)
    # E[z|x] ≈ x + σ² d ln p(z)/dz: trained on the falling prior it lies below the one
    # trained on the rising prior, by ≈ 15–20 GeV at σ = 10% here
    for test in ("falling", "rising"):
        dependence = {k: v[test]["value"] for k, v in found["prior_dependence"].items()}
        assert dependence["mse"] < -12
        assert abs(dependence["prior_independent"]) < 0.6 * abs(dependence["mse"])
    mse_bias = found["bias"]["mse"]
    # each MSE calibration closes in the mean on its own spectrum, not on the other
    assert abs(mse_bias["rising"]["rising"]["bias"]) < abs(mse_bias["falling"]["rising"]["bias"])
