"""The ntk study at a tiny size, and its data sets."""

import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.report import RunFolder
from robusthep.studies.demo import STUDIES
from robusthep.studies.ntk import NTK_DATASETS, NtkConfig, load_regression, run_ntk


@pytest.mark.parametrize("name", list(NTK_DATASETS))
def test_data_sets_are_finite_standardised_tables(name):
    x, y = load_regression(name)
    assert x.ndim == 2 and y.ndim == 2 and len(x) == len(y) > 300
    assert np.isfinite(x).all() and np.isfinite(y).all()
    if name != "digits":
        assert np.allclose(y.mean(axis=0), 0.0, atol=1e-9)
        assert np.allclose(y.std(axis=0), 1.0)


def test_higgs_target_is_the_generator_level_ditau_mass():
    x, y = load_regression("higgs")
    # Two populations (Z at 91 GeV, H at 125 GeV): the standardised target is bimodal,
    # and the log visible mass (first feature) is positively correlated with it.
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] > 0.3


def test_tiny_study_writes_every_data_set(tmp_path, one_thread):
    config = NtkConfig(sizes=(10, 20), members=2, width=16, steps=5, workers=1)
    folder = RunFolder(tmp_path)
    results = run_ntk(config, folder)
    assert set(results["datasets"]) == set(NTK_DATASETS)
    for name, entry in results["datasets"].items():
        assert folder.figure_path(f"ntk_{name}").exists()
        assert entry["sizes"]["value"] == [10, 20]
        assert len(entry["ensemble_cv"]["value"]) == 2
    assert len(STUDIES["ntk"].headline(results)) == 2 * len(NTK_DATASETS)


def test_sizes_beyond_the_pool_are_skipped(tmp_path, one_thread):
    config = NtkConfig(
        datasets=("diabetes",), sizes=(10, 1000), members=2, width=8, steps=2, workers=1
    )
    results = run_ntk(config, RunFolder(tmp_path))
    assert results["datasets"]["diabetes"]["sizes"]["value"] == [10]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"datasets": ("mnist",)}, "mnist"),
        ({"activation": "tanh", "datasets": ("diabetes",)}, "tanh.*erf, relu"),
        ({"sizes": (1000,), "datasets": ("diabetes",)}, "no size"),
    ],
)
def test_bad_configuration_is_a_config_error(tmp_path, overrides, match):
    config = NtkConfig(**{"members": 2, "width": 8, "steps": 1, "workers": 1, **overrides})
    with pytest.raises(ConfigError, match=match):
        run_ntk(config, RunFolder(tmp_path))
