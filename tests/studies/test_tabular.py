"""The AutoMPG benchmark: protocol, units, parameter counts and monotonicity at a tiny size."""

import json
import sys

import numpy as np
import pytest
import torch

from robusthep.data import load_auto_mpg
from robusthep.errors import MissingDependencyError
from robusthep.report import RunFolder
from robusthep.studies.tabular import TabularConfig, _split, run_tabular

TINY = TabularConfig(seeds=2, epochs=4, grid_points=11, audit_pairs=256, audit_steps=5)


@pytest.fixture(scope="module")
def bench(tmp_path_factory, one_thread):
    folder = RunFolder(tmp_path_factory.mktemp("bench"))
    return folder, run_tabular(TINY, folder, command="robusthep bench-tabular --quick")


def test_every_model_reports_test_mse_in_mpg2_and_its_size(bench):
    _, results = bench
    assert set(results["models"]) == {"monotonic", "mlp", "monotonicnetworks"}
    for entry in results["models"].values():
        for key in ("test_mse", "test_mse_test_selected"):
            assert entry[key]["unit"] == "mpg^2"
            assert len(entry[key]["per_seed"]) == TINY.seeds
            assert entry[key]["value"] == pytest.approx(np.mean(entry[key]["per_seed"]))
        # The test-selected figure is a minimum over epochs, the last epoch included.
        assert entry["test_mse_test_selected"]["value"] <= entry["test_mse"]["value"] + 1e-9
        assert entry["parameters"]["unit"] == "count"
    sizes = {name: entry["parameters"]["value"] for name, entry in results["models"].items()}
    # Same widths everywhere: 7·8+8 + 8·8+8 + 8+1 = 145.
    assert sizes == {"monotonic": 145, "mlp": 145, "monotonicnetworks": 145}


def test_the_paired_comparison_counts_splits(bench):
    _, results = bench
    for other in ("mlp", "monotonicnetworks"):
        paired = results["paired"][f"monotonic_vs_{other}"]
        assert 0 <= paired["splits_where_lower"]["value"] <= TINY.seeds
        assert paired["splits_where_lower"]["of"] == TINY.seeds
        mean = results["models"]["monotonic"]["test_mse"]["value"]
        mean -= results["models"][other]["test_mse"]["value"]
        assert paired["mean_difference"]["value"] == pytest.approx(mean)


def test_the_monotonic_models_have_no_violations(bench):
    _, results = bench
    for name in ("monotonic", "monotonicnetworks"):
        entry = results["models"][name]
        assert entry["violations_total"]["value"] == 0
        assert set(entry["violations"]) == set(TINY.decreasing)
        assert entry["audit"]["violations_total"]["value"] == 0
        assert entry["audit"]["worst_wrong_way_step"]["value"] <= 1e-4


def test_the_report_states_the_protocol_and_shows_the_figures(bench):
    folder, results = bench
    assert "validation" in results["protocol"]
    assert json.loads((folder.path / "results.json").read_text())["lipschitz"]["value"] == 2.0
    html = (folder.path / "report.html").read_text()
    for path in folder.figures.iterdir():
        assert f'src="figures/{path.name}"' in html
    assert "7.58" in html


def test_splits_are_seeded_disjoint_and_standardised_on_the_training_part():
    table = load_auto_mpg()
    split = _split(table.features, table.target, TINY, seed=3)
    again = _split(table.features, table.target, TINY, seed=3)
    assert torch.equal(split.x_test, again.x_test)
    assert len(split.x_train) + len(split.x_val) + len(split.x_test) == 392
    assert len(split.x_test) == round(0.2 * 392)
    training = torch.cat([split.x_train, split.x_val])
    assert torch.allclose(training.mean(dim=0), torch.zeros(7), atol=1e-5)
    assert torch.cat([split.y_train, split.y_val]).std(unbiased=False) == pytest.approx(1, abs=1e-5)


def test_a_missing_reference_package_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "monotonicnetworks", None)
    config = TabularConfig(seeds=1, epochs=1, models=("monotonicnetworks",))
    with pytest.raises(MissingDependencyError, match="pip install monotonicnetworks"):
        run_tabular(config, RunFolder(tmp_path))
