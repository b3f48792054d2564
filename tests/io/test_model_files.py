import json

import pytest
import torch
from torch import nn

from robusthep.errors import ConfigError, ModelFileError
from robusthep.io import load_model, save_model
from robusthep.nn import MonotonicWrapper, Standardize, lipschitz_mlp, to_plain


@pytest.fixture
def model():
    g = MonotonicWrapper(
        lipschitz_mlp(3, hidden=(8, 8), lipschitz=2.0),
        increasing=["pt"],
        decreasing=["chi2"],
        feature_names=["pt", "eta", "chi2"],
    )
    return nn.Sequential(Standardize(mean=torch.ones(3), scale=torch.full((3,), 2.0)), g).eval()


@pytest.fixture
def saved(model, tmp_path):
    return save_model(model, tmp_path / "model", metadata={"auc": 0.9})


def test_round_trip_is_exact_and_keeps_the_description(model, saved):
    loaded = load_model(saved)
    x = torch.randn(50, 3)
    assert torch.equal(loaded(x), model(x))
    assert loaded.robusthep_metadata == {"auc": 0.9}
    document = json.loads((saved / "model.json").read_text())
    assert document["format_version"] == 1
    assert document["guarantees"]["lipschitz"]["bounds"]["one"] == pytest.approx(4.0 / 2.0)


def test_monotonic_wrapper_alone_records_its_guarantees(tmp_path):
    g = MonotonicWrapper(lipschitz_mlp(2, hidden=(4,)), increasing=[1], feature_names=["a", "b"])
    document = json.loads((save_model(g, tmp_path / "g") / "model.json").read_text())
    assert document["feature_names"] == ["a", "b"]
    assert document["guarantees"]["monotonic"] == {"increasing": [1], "decreasing": []}


def test_exported_plain_model_round_trips_frozen(model, tmp_path):
    plain = to_plain(model)
    loaded = load_model(save_model(plain, tmp_path / "plain"))
    assert not any(p.requires_grad for p in loaded.parameters())
    x = torch.randn(20, 3)
    assert torch.equal(loaded(x), plain(x))


def test_truncated_weights_are_detected(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(saved)


def test_weights_that_disagree_with_the_json_are_detected(saved, tmp_path):
    other = save_model(lipschitz_mlp(3, hidden=(4,)), tmp_path / "other")
    document = json.loads((saved / "model.json").read_text())
    other_document = json.loads((other / "model.json").read_text())
    document["weights"] = other_document["weights"]
    (saved / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    (saved / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="disagree|does not describe"):
        load_model(saved)


def test_a_newer_format_version_is_refused(saved):
    document = json.loads((saved / "model.json").read_text())
    document["format_version"] = 99
    (saved / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="version 99.*upgrade robusthep"):
        load_model(saved)


def test_a_tampered_bound_is_detected(saved):
    document = json.loads((saved / "model.json").read_text())
    document["guarantees"]["lipschitz"]["bounds"]["one"] = 0.01
    (saved / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="exceeds"):
        load_model(saved)


def test_missing_or_garbled_files(tmp_path, saved):
    with pytest.raises(ModelFileError, match="no model description"):
        load_model(tmp_path / "nowhere")
    (saved / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(saved)


def test_unknown_module_types(tmp_path, saved):
    with pytest.raises(ConfigError, match="cannot save a module of type GELU"):
        save_model(nn.Sequential(nn.GELU()), tmp_path / "gelu")
    document = json.loads((saved / "model.json").read_text())
    document["module"]["type"] = "Transformer"
    (saved / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="unknown module type 'Transformer'"):
        load_model(saved)


def test_saving_never_overwrites_by_accident(model, saved):
    with pytest.raises(FileExistsError):
        save_model(model, saved)
    save_model(model, saved, overwrite=True)
    assert load_model(saved) is not None
