"""The audit study: a tiny run on toy jets is complete and consistent; the quick run (slow)."""

import json

import pytest

from robusthep.audit import toy_jets
from robusthep.errors import ConfigError
from robusthep.report import RunFolder, iter_quantities
from robusthep.studies.audit import AuditConfig, audit_jets, run_audit

TINY = AuditConfig(
    max_constituents=12,
    hidden=(16, 16),
    latent=8,
    epochs=4,
    mismodelling_epochs=2,
    pgd_steps=3,
    scan_epochs=(1, 4),
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, one_thread):
    folder = RunFolder(tmp_path_factory.mktemp("audit"))
    jets = toy_jets(400, max_constituents=12, seed=1)
    return folder, audit_jets(jets, TINY, folder, command="robusthep audit")


def test_the_run_folder_is_complete(tiny):
    folder, results = tiny
    for name in ("results.json", "report.html", "config.toml"):
        assert (folder.path / name).exists()
    for name in ("roc", "pgd_shift", "certified_radius", "mismodelling", "epoch_scan"):
        assert folder.figure_path(name).exists()
    stored = json.loads((folder.path / "results.json").read_text())
    assert stored["taggers"].keys() == results["taggers"].keys()
    assert all(q["unit"] for _, q in iter_quantities(stored))


def test_every_tagger_has_the_table_entries(tiny):
    _, results = tiny
    for name, entry in results["taggers"].items():
        assert 0.5 < entry["auc"]["value"] <= 1.0, name
        for attack in ("fgsm", "pgd"):
            shift = entry[attack]["probability_shift_background"]["value"]
            assert shift >= 0, (name, attack)  # background is pushed towards signal
        assert ("certified_fraction" in entry) == name.endswith("lipschitz")


def test_attacks_stay_within_the_certificate(tiny):
    _, results = tiny
    for name in ("pfn_lipschitz", "hl_lipschitz"):
        for attack in ("fgsm", "pgd"):
            assert results["taggers"][name][attack]["max_shift_over_bound"]["value"] <= 1 + 1e-6


def test_the_epoch_scan_covers_the_asked_epochs(tiny):
    _, results = tiny
    for scan in results["epoch_scan"].values():
        assert scan["epochs"]["value"] == [1, 4]


def test_a_split_without_test_jets_is_refused(tmp_path):
    config = TINY.model_copy(update={"train_fraction": 0.7, "validation_fraction": 0.3})
    with pytest.raises(ConfigError, match="leave test jets"):
        audit_jets(toy_jets(20), config, RunFolder(tmp_path / "run"))


@pytest.mark.slow
def test_quick_run_on_the_wjets_sample(tmp_path, one_thread):
    results = run_audit(AuditConfig.quick(), RunFolder(tmp_path / "run"))
    hl = results["taggers"]["hl"]
    assert hl["auc"]["value"] > 0.75
    assert hl["pgd"]["signal_efficiency"]["value"] < hl["signal_efficiency_clean"]["value"]
    assert results["sample"]["jets"]["value"] == 3195
