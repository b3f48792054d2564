"""The trigger study: a tiny end-to-end run, its outputs, and the monotonic model's guarantee."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robusthep.report import RunFolder
from robusthep.studies._common import count_violations, monotonic_mlp
from robusthep.studies.trigger import FEATURES, TriggerConfig, run_trigger

TINY = TriggerConfig.quick().model_copy(
    update={
        "epochs": 3,
        "bdt_iterations": 20,
        "bootstrap": 10,
        "grid_events": 40,
        "grid_points": 11,
        "audit_pairs": 64,
        "audit_steps": 3,
    }
)


# A whole (tiny) run takes 5-10 s of CPU, mostly matplotlib: the end-to-end tests are slow;
# run_trigger's doctest keeps one end-to-end run in the fast suite.
@pytest.fixture(scope="module")
def tiny(tmp_path_factory, one_thread):
    folder = RunFolder(tmp_path_factory.mktemp("trigger"))
    return folder, run_trigger(TINY, folder, command="robusthep trigger --quick")


@pytest.mark.slow
def test_the_run_writes_results_figures_report_and_config(tiny):
    folder, results = tiny
    assert json.loads((folder.path / "results.json").read_text()) == results
    assert "robusthep trigger" in (folder.path / "report.html").read_text()
    assert "epochs = 3" in (folder.path / "config.toml").read_text()
    names = {path.name for path in (folder.path / "figures").iterdir()}
    assert names == {"efficiency.png", "monotone_scans.png", "roc.png", "lifetime.png"}
    assert set(results["models"]) == {"monotonic", "mlp", "bdt"}
    assert results["skipped"] == {}


@pytest.mark.slow
def test_every_model_has_working_points_with_bootstrap_errors(tiny):
    _, results = tiny
    for entry in results["models"].values():
        assert 0.5 < entry["auc"]["value"] <= 1
        assert set(entry["working_points"]) == {"1%", "5%"}
        loose, tight = entry["working_points"]["5%"], entry["working_points"]["1%"]
        assert loose["efficiency"]["value"] >= tight["efficiency"]["value"]
        for point in (loose, tight):
            assert point["efficiency"]["std"] > 0
            assert point["efficiency_change"]["std"] > 0
            change = point["efficiency_degraded"]["value"] - point["efficiency"]["value"]
            assert point["efficiency_change"]["value"] == pytest.approx(change)
        curve = entry["curves"]["decay_time"]
        assert len(curve["efficiency"]["value"]) == len(curve["edges"]["value"]) - 1
        assert (
            sum(curve["signal_candidates"]["value"]) == results["dataset"]["test_signal"]["value"]
        )


@pytest.mark.slow
def test_only_the_monotonic_network_is_free_of_violations(tiny):
    _, results = tiny
    models = results["models"]
    steps = TINY.grid_events * (TINY.grid_points - 1) * len(TINY.increasing)
    total = models["monotonic"]["violations_total"]
    assert (total["value"], total["steps"], total["within_test_range"]) == (0, steps, 0)
    assert models["monotonic"]["verify"]["violations"]["value"] == 0
    assert models["monotonic"]["verify"]["worst_wrong_way_step"]["value"] <= 1e-4
    assert models["monotonic"]["verify"]["export_max_difference"]["value"] < 1e-4
    # Trees are step functions of every feature: some step goes the wrong way.
    assert models["bdt"]["violations_total"]["value"] > 0


@pytest.mark.slow
def test_the_lifetime_of_the_signal_b_hadrons_is_about_1_5_ps(tiny):
    _, results = tiny
    lifetime = results["physics"]["lifetime"]
    assert abs(lifetime["value"] - 1.55) < 3 * lifetime["std"] + 0.05
    assert results["physics"]["ks_p_value"]["value"] > 0.01


@settings(max_examples=15, deadline=None)
@given(
    hidden=st.lists(st.sampled_from([4, 8, 16]), min_size=1, max_size=3),
    lipschitz=st.floats(0.1, 10.0),
    increasing=st.sets(st.sampled_from(FEATURES), min_size=1, max_size=4),
    seed=st.integers(0, 2**16),
)
def test_the_study_monotonic_network_never_falls_on_a_grid(hidden, lipschitz, increasing, seed):
    torch.manual_seed(seed)
    model = monotonic_mlp(FEATURES, hidden=hidden, lipschitz=lipschitz, increasing=increasing)
    with torch.no_grad():  # random weights and biases: not only the initial ones
        for parameter in model.parameters():
            parameter.normal_(0, 2)
    base = torch.randn(30, len(FEATURES)) * 3
    for feature in increasing:
        grid = torch.linspace(-10, 10, 41)
        violations, steps = count_violations(model, base, FEATURES.index(feature), grid, sign=1)
        assert (violations, steps) == (0, 30 * 40)


def test_a_bad_configuration_names_the_problem():
    with pytest.raises(ValueError, match="unknown features"):
        TriggerConfig(features=("sum_pt", "jet_mass"))
    with pytest.raises(ValueError, match="increasing must name"):
        TriggerConfig(increasing=("mass",))
    with pytest.raises(ValueError, match="retentions"):
        TriggerConfig(retentions=(0.0,))


def test_without_scikit_learn_the_bdt_is_skipped_with_a_message(monkeypatch):
    import sys

    from robusthep.studies import trigger

    monkeypatch.setitem(sys.modules, "sklearn", None)
    messages = []
    names, skipped = trigger._available(("monotonic", "bdt"), messages.append)
    assert names == ["monotonic"]
    assert "pip install" in skipped["bdt"] and "skipping the BDT" in messages[0]
