"""The higgs study: bad input at its boundary, and a tiny end-to-end run (slow)."""

import json

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


TINY = {
    "epochs": 3,
    "augment_copies": 1,
    "mu_values": (0.5, 2.0),
    "grid": (0.1, 1.0, 2.0, 3.0),
    "calibration_experiments": 12,
    "pseudo_experiments": 6,
}


@pytest.mark.slow
def test_tiny_study_is_reproducible_and_exports_a_workspace(tmp_path, one_thread):
    runs = []
    for workers in (1, 2):
        config = HiggsConfig.quick().model_copy(update={**TINY, "workers": workers})
        folder = RunFolder(tmp_path / f"run{workers}")
        runs.append(run_higgs(config, folder))
    first, second = runs
    assert first["methods"] == second["methods"]
    for method in ("baseline", "aware"):
        for kind in ("wilks", "neyman"):
            assert len(first["methods"][method][kind]["per_mu"]) == 2
    workspace = pyhf.Workspace(json.loads((tmp_path / "run1" / "workspace.json").read_text()))
    model = workspace.model()
    assert np.isfinite(pyhf.infer.mle.fit(workspace.data(model), model)[0])
    for name in ("coverage", "width", "mu_hat", "pulls"):
        assert (tmp_path / "run1" / "figures" / f"{name}.png").exists()
