"""The neemo study at a tiny size: a complete run folder and results that hang together."""

import pytest

from robusthep.errors import ConfigError
from robusthep.report import RunFolder, iter_quantities
from robusthep.studies.config import load_config
from robusthep.studies.demo import STUDIES
from robusthep.studies.neemo import JetShapesConfig, NeemoConfig, PotComparisonConfig, run_neemo

TINY = NeemoConfig(
    workers=1,
    pot=PotComparisonConfig(sizes=(30, 60), steps=40, hidden=(8, 8), sinkhorn_max=30),
    jets=JetShapesConfig(
        wjets_events=3000,
        wjets_shard_events=1000,
        jets_per_class=2,
        steps=10,
        warmup_steps=10,
        final_steps=10,
        hidden=(8, 8),
    ),
)


@pytest.fixture(scope="module")
def neemo(tmp_path_factory, one_thread):
    folder = RunFolder(tmp_path_factory.mktemp("neemo"))
    return folder, run_neemo(TINY, folder, command="robusthep neemo --quick")


def test_run_folder_is_complete(neemo):
    folder, results = neemo
    for name in ("results.json", "report.html", "config.toml"):
        assert (folder.path / name).exists()
    for name in ("neemo_vs_pot", "jet_displays", "jet_emd_vs_k"):
        assert folder.figure_path(name).exists()
    assert all(q["unit"] for _, q in iter_quantities(results))


def test_pot_comparison_is_a_lower_bound_and_sinkhorn_is_skipped_above_its_limit(neemo):
    _, results = neemo
    sizes = results["pot"]["sizes"]
    assert set(sizes) == {"30", "60"}
    for entry in sizes.values():
        assert entry["neemo_rel_error"]["value"] <= entry["neemo_refined_rel_error"]["value"]
        assert entry["neemo_refined_rel_error"]["value"] <= 1e-9
    assert "sinkhorn_rel_error" in sizes["30"] and "sinkhorn_rel_error" not in sizes["60"]


def test_jet_results_cover_both_classes_and_every_k(neemo):
    _, results = neemo
    for name in ("w", "qcd"):
        entry = results["jets"]["classes"][name]
        assert len(entry["jets"]["value"]) == 2
        for k in (1, 2, 3):
            assert entry[f"exact_emd_k{k}"]["value"] > 0
        assert len(entry["separation"]["value"]) == 2
    assert "significance" in results["jets"]["drop_difference_w_minus_qcd"]
    headline = STUDIES["neemo"].headline(results)
    assert "W jets: EMD drop from 1 to 2 circles" in headline


def test_bad_configuration_is_a_config_error():
    with pytest.raises(ConfigError, match="jets_per_class"):
        load_config(NeemoConfig, overrides={"jets": {"jets_per_class": 1}})
