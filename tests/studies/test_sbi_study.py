"""The sbi study: its tes shift agrees with the simulator's, bad settings, a tiny run (slow)."""

import json

import numpy as np
import pytest

from robusthep.errors import ConfigError
from robusthep.report import RunFolder
from robusthep.sim import HiggsSettings, apply_systematics, generate_higgs
from robusthep.sim.features import FEATURES
from robusthep.studies.sbi import SbiConfig, run_sbi, shift


@pytest.fixture(scope="module")
def higgs():
    return generate_higgs(HiggsSettings.quick(), progress=False).columns


@pytest.mark.parametrize("tes", [0.95, 1.0, 1.1])
def test_vectorised_tes_shift_agrees_with_apply_systematics(higgs, tes):
    ours = shift(higgs, tes, 30.0)
    theirs = apply_systematics(higgs, {"tes": tes})
    keep = np.asarray(theirs["had_pt"]) >= 30.0
    for name in FEATURES:
        if name.startswith("jet") or name in ("n_jets",):
            continue
        np.testing.assert_allclose(
            ours[name], np.asarray(theirs[name])[keep], rtol=1e-12, equal_nan=True, err_msg=name
        )


def test_per_event_tes_equals_one_shift_per_value(higgs):
    tes = np.where(np.arange(len(higgs["had_pt"])) % 2 == 0, 0.9, 1.1)
    both = shift(dict(higgs) | {"tes": tes}, tes, 30.0)
    low = shift(dict(higgs) | {"tes": tes}, 0.9, 30.0)
    np.testing.assert_allclose(
        both["mass_vis"][both["tes"] == 0.9], low["mass_vis"][low["tes"] == 0.9]
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"had_pt_min": 27.0}, "events that a larger tes would move into the selection"),
        ({"theta_low": 1.01}, "must contain the nominal tes = 1"),
        ({"theta_values": (0.5,)}, "outside"),
        ({"train_fraction": 0.7, "calibration_fraction": 0.4}, "must leave a pool"),
        ({"grid_points": 40}, "must contain tes = 1"),
    ],
)
def test_bad_settings_are_config_errors(tmp_path, overrides, message):
    config = SbiConfig.quick().model_copy(update=overrides)
    with pytest.raises(ConfigError, match=message):
        run_sbi(config, RunFolder.create("sbi", tmp_path / "run"))


@pytest.mark.slow
def test_tiny_study_writes_results_and_is_reproducible(tmp_path, one_thread):
    config = SbiConfig.quick().model_copy(
        update={
            "copies": 4,
            "epochs": 2,
            "flow_epochs": 2,
            "pseudo_experiments": 4,
            "grid_points": 21,
            "workers": 1,
        }
    )
    first = run_sbi(config, RunFolder.create("sbi", tmp_path / "a"))
    second = run_sbi(config, RunFolder.create("sbi", tmp_path / "b"))
    for key in ("methods", "luminosity_gain", "ratio_expectation", "pivot"):
        assert json.dumps(first[key]) == json.dumps(second[key])
    assert (tmp_path / "a" / "report.html").exists()
    assert len(list((tmp_path / "a" / "figures").glob("*.png"))) == 4
    assert set(first["methods"]) == {"histogram", "ratio", "carl", "flow"}
