"""`robusthep train/predict/verify`: files in, files out, exit codes 0 / 1 / 2."""

import json

import numpy as np
import pytest
import torch
import uproot
from typer.testing import CliRunner

from robusthep.cli import app
from robusthep.data.table import read_table, write_table

runner = CliRunner()
TINY = ["--hidden", "8,8", "--epochs", "2", "--batch-size", "128", "--no-progress"]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def files(tmp_path_factory, jet_columns):
    folder = tmp_path_factory.mktemp("files")
    return {
        suffix: write_table(jet_columns, folder / f"jets{suffix}", tree="Events")
        for suffix in (".parquet", ".csv", ".root")
    }


@pytest.fixture(scope="module")
def model(tmp_path_factory, files):
    out = tmp_path_factory.mktemp("runs") / "tagger"
    config = out.parent / "train.toml"
    config.write_text("audit_pairs = 32\naudit_steps = 2\n")
    result = runner.invoke(
        app,
        [
            "train", str(files[".root"]), "--target", "label", "--features", "pt,chi2,tau21",
            "--increasing", "pt", "--decreasing", "chi2", "--decorrelate", "mass",
            "--method", "disco", "--lam", "5", "--weights", "weight", "--config", str(config),
            "-o", str(out), *TINY,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {out}/" in result.output
    assert "auc" in result.output
    return out


def test_train_writes_model_onnx_and_report(model):
    assert (model / "models" / "model.onnx").is_file()
    assert (model / "report.html").is_file()
    results = json.loads((model / "results.json").read_text())
    assert results["verification"]["passed"] is True
    config = (model / "config.toml").read_text()
    assert 'method = "disco"' in config and "audit_pairs = 32" in config


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".root"])
def test_predict_adds_a_column_in_the_same_format(tmp_path, model, files, suffix, jet_columns):
    out = tmp_path / f"scored{suffix}"
    result = runner.invoke(
        app, ["predict", str(model), str(files[suffix]), "-o", str(out), "--column", "tagger"]
    )
    assert result.exit_code == 0, result.output
    scored = read_table(out)
    assert scored.names[: len(jet_columns)] == list(jet_columns) or set(jet_columns) < set(
        scored.names
    )
    scores = scored.column("tagger")
    assert len(scores) == len(jet_columns["pt"]) and ((scores >= 0) & (scores <= 1)).all()
    np.testing.assert_allclose(scored.column("pt"), jet_columns["pt"])


def test_predict_refuses_to_overwrite_a_column(tmp_path, model, files):
    result = runner.invoke(
        app, ["predict", str(model), str(files[".csv"]), "-o", str(tmp_path / "o.csv"),
              "--column", "pt"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "already has a column 'pt'" in result.output


def test_verify_passes_then_fails_on_a_tampered_model(tmp_path, model):
    result = runner.invoke(app, ["verify", str(model), "--pairs", "64", "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "all guarantees hold" in result.output
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(model, copy)
    description = copy / "models" / "model" / "model.json"
    document = json.loads(description.read_text())
    document["metadata"]["lipschitz"] = 1e-4
    description.write_text(json.dumps(document))
    result = runner.invoke(app, ["verify", str(copy), "--pairs", "64", "--steps", "2"])
    assert result.exit_code == 1
    assert "FAILED" in result.output


def test_verify_of_a_folder_that_is_no_model_is_exit_code_2(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a model folder" in result.output


def _two_trees(path):
    with uproot.recreate(path) as file:
        for name in ("signal", "background"):
            file.mktree(name, {"pt": np.float64, "label": np.int64})
            file[name].extend({"pt": np.arange(3.0), "label": np.zeros(3, dtype=np.int64)})
    return path


@pytest.mark.parametrize(
    ("make", "arguments", "message"),
    [
        (None, ["--features", "pt,eta"], "no column 'eta'; its columns are: pt, chi2"),
        (None, ["--features", "pt", "--target", "mass"], r"must hold 0 \(background\) and 1"),
        ("text", ["--features", "pt,flavour"], "'flavour' of .* is not numeric"),
        ("nan", ["--features", "pt"], r"1 NaN or infinite values .* pt: 1 \(first rows \[2\]\)"),
        ("two_trees", ["--features", "pt"], "2 trees: background, signal"),
        ("empty", ["--features", "pt"], "is empty"),
        (None, ["--features", "pt", "--method", "mode7"], "mode0"),
        (None, ["--features", "pt", "--hidden", "a,b"], "--hidden takes integers"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_code_2(tmp_path, files, make, arguments, message):
    data = files[".parquet"]
    if make == "text":
        data = tmp_path / "text.csv"
        data.write_text("pt,flavour,label\n1,b,0\n2,c,1\n")
    elif make == "nan":
        data = write_table({"pt": [1.0, 2.0, np.nan], "label": [0, 1, 0]}, tmp_path / "n.parquet")
    elif make == "two_trees":
        data = _two_trees(tmp_path / "two.root")
    elif make == "empty":
        data = tmp_path / "empty.csv"
        data.write_bytes(b"")
    result = runner.invoke(
        app, ["train", str(data), "--target", "label", *TINY, *arguments, "-o",
              str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    import re

    assert re.search(message, " ".join(result.output.split())), result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_print_config_merges_file_and_options_and_trains_nothing(tmp_path, files):
    config = tmp_path / "c.toml"
    config.write_text('target = "label"\nfeatures = ["pt"]\nepochs = 7\n')
    result = runner.invoke(
        app, ["train", str(files[".csv"]), "--config", str(config), "--epochs", "9",
              "--print-config", "-o", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    import tomllib

    printed = tomllib.loads(result.output)
    assert printed["epochs"] == 9 and printed["features"] == ["pt"]
    assert not (tmp_path / "o").exists()
