"""`robusthep generate`: writes, prints where, reports bad input."""

import pytest
from typer.testing import CliRunner

from robusthep.cli import app
from robusthep.data import read_dataset

runner = CliRunner()


def test_generate_writes_the_dataset_and_says_where(tmp_path):
    folder = tmp_path / "higgs"
    arguments = ["generate", "higgs", "--events", "60", "--seed", "3", "--quick"]
    result = runner.invoke(app, [*arguments, "--output", str(folder), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert str(folder) in result.output
    assert len(read_dataset(folder)) > 0
    again = runner.invoke(app, [*arguments, "--output", str(folder), "--workers", "1"])
    assert again.exit_code == 0 and str(folder) in again.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["generate", "wtag"], "unknown dataset 'wtag'; valid: higgs"),
        (["generate", "higgs", "--events", "0"], "events must be a positive integer"),
        (["generate", "higgs", "--executor", "dask"], "unknown executor 'dask'"),
        (
            ["generate", "higgs", "--events", "5", "--executor", "ray", "--address", "127.0.0.1:1"],
            "cannot reach the Ray head node",
        ),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_code_2(tmp_path, arguments, message):
    result = runner.invoke(app, [*arguments, "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_generate_wjets_writes_jets_with_constituents(tmp_path):
    folder = tmp_path / "wjets"
    arguments = ["generate", "wjets", "--events", "10", "--seed", "2", "--quick"]
    arguments += ["--set", "jet_radius=0.8", "--set", "pt_hat_edges=[200, 500, 1300]"]
    result = runner.invoke(app, [*arguments, "--output", str(folder), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert str(folder) in result.output
    data = read_dataset(folder)
    assert data.meta["dataset"] == "wjets" and data.meta["settings"]["fast"] is True
    assert data.meta["jets"]["radius"] == 0.8
    assert data.meta["settings"]["pt_hat_edges"] == [200.0, 500.0, 1300.0]
    assert {"jet_mass_sd", "jet_tau21", "jet_d2", "constituent_pt"} <= set(data.columns)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--events", "2"], "at least the number of pT-hat bins"),
        (["--set", "radius=0.8"], "unknown settings key 'radius'; valid: events"),
        (["--set", "jet_radius"], "--set takes KEY=VALUE, got 'jet_radius'"),
        (["--set", "jet_radius=2.0"], "jet_radius must be in (0, 1.5]"),
    ],
)
def test_generate_wjets_reports_bad_settings(tmp_path, extra, message):
    arguments = ["generate", "wjets", *extra, "--output", str(tmp_path / "out")]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_generate_btrigger_writes_candidates(tmp_path):
    folder = tmp_path / "btrigger"
    arguments = ["generate", "btrigger", "--events", "300", "--quick", "--workers", "1"]
    result = runner.invoke(app, [*arguments, "--output", str(folder)])
    assert result.exit_code == 0, result.output
    data = read_dataset(folder)
    assert data.meta["dataset"] == "btrigger"
    assert {"fd_chi2", "corrected_mass", "decay_time", "true_b_decay_time"} <= set(data.columns)
