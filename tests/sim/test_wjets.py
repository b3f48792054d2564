"""The ``wjets`` dataset: columns, weights, physics checks, cache and bad input."""

import os

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from robusthep.errors import ConfigError
from robusthep.parallel import Executor
from robusthep.sim.wjets import WJetsSettings, flat_pt_weights, generate_wjets

COLUMNS = (
    "jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_mass_sd", "jet_tau1", "jet_tau2",
    "jet_tau3", "jet_tau21", "jet_tau32", "jet_d2", "jet_n_constituents",
    "constituent_pt", "constituent_deta", "constituent_dphi", "pt_hat", "true_w_pt",
    "true_w_dr", "true_w_daughters_dr", "label", "process", "pt_hat_bin", "weight",
    "weight_flat_pt",
)  # fmt: skip


def _class(data, label, name):
    return data.columns[name][data.columns["label"] == label]


def test_the_table_has_every_column_and_only_jets_in_the_window(small_wjets):
    columns = small_wjets.columns
    assert set(COLUMNS) <= set(columns)
    assert np.all((columns["jet_pt"] >= 250) & (columns["jet_pt"] <= 1000))
    assert np.all(np.abs(columns["jet_eta"]) < 2.0)
    assert set(columns["process"]) == {"wjet", "qcd"}
    counts = np.asarray([len(x) for x in columns["constituent_pt"]])
    np.testing.assert_array_equal(counts, np.minimum(columns["jet_n_constituents"], 100))
    for name in COLUMNS[:12]:
        assert np.all(np.isfinite(columns[name])), name


def test_constituents_are_relative_to_the_jet_axis_and_add_up_to_the_jet(small_wjets):
    columns = small_wjets.columns
    few = columns["jet_n_constituents"] <= 100
    pt, deta, dphi = (columns[f"constituent_{x}"][few] for x in ("pt", "deta", "dphi"))
    px = np.array([np.sum(p * np.cos(f)) for p, f in zip(pt, dphi, strict=True)])
    np.testing.assert_allclose(px, columns["jet_pt"][few], rtol=0.05)
    # Anti-kT jets are cones of radius R around their hard core, not around the final axis.
    distance = [np.max(np.hypot(e, f)) for e, f in zip(deta, dphi, strict=True)]
    assert np.median(distance) < 1.0 and max(distance) < 1.5


def test_signal_jets_are_matched_to_the_w(small_wjets):
    assert np.all(_class(small_wjets, 1, "true_w_dr") < 0.75)
    assert np.all(np.isnan(_class(small_wjets, 0, "true_w_pt")))


def test_the_w_jets_groomed_mass_peaks_at_80_gev(small_wjets):
    mass = _class(small_wjets, 1, "jet_mass_sd")
    grid = np.linspace(40, 130, 901)
    window = mass[(mass > 40) & (mass < 130)]
    peak = grid[np.argmax(gaussian_kde(window, bw_method=0.15)(grid))]
    assert 75 <= peak <= 85, peak


def test_the_qcd_groomed_mass_falls_smoothly_without_a_w_peak(small_wjets):
    mass = _class(small_wjets, 0, "jet_mass_sd")
    counts, _ = np.histogram(mass, bins=np.arange(30, 190, 40))
    assert np.all(np.diff(counts) < 0), counts
    below, at, above = np.histogram(mass, bins=[50, 70, 90, 110])[0]
    assert at < (below + above) / 2 + 3 * np.sqrt(at + 1)


@pytest.mark.parametrize("name", ["jet_tau21", "jet_d2"])
def test_two_prong_observables_are_smaller_for_w_jets(small_wjets, name):
    signal, background = _class(small_wjets, 1, name), _class(small_wjets, 0, name)
    assert np.median(signal) < 0.8 * np.median(background)
    # the probability that a W jet has the smaller value (area under the ROC curve)
    ranks = np.searchsorted(np.sort(background), signal)
    assert ranks.mean() / len(background) < 0.35


def test_weights_follow_the_pt_hat_bins_and_the_flat_weights_keep_each_class_yield(
    small_wjets,
):
    columns, meta = small_wjets.columns, small_wjets.meta
    for name, process in meta["processes"].items():
        for number, row in enumerate(process["pt_hat_bins"]):
            take = (columns["process"] == name) & (columns["pt_hat_bin"] == number)
            expected = row["sigma_pb"] * meta["luminosity_fb"] * 1000 / row["generated"]
            np.testing.assert_allclose(columns["weight"][take], expected)
        take = columns["process"] == name
        assert columns["weight_flat_pt"][take].sum() == pytest.approx(
            columns["weight"][take].sum(), rel=1e-9
        )
    # Physical QCD spectrum falls steeply: the first 100 GeV hold most of the yield.
    qcd = columns["label"] == 0
    low = columns["jet_pt"][qcd] < 350
    assert columns["weight"][qcd][low].sum() > 0.5 * columns["weight"][qcd].sum()


def test_flat_pt_weights_give_both_classes_the_same_spectrum():
    rng = np.random.default_rng(0)
    pt = np.concatenate([rng.exponential(100, 4000) + 250, rng.uniform(250, 1000, 4000)])
    label = np.repeat([0, 1], 4000)
    weight = rng.uniform(0.5, 2, 8000)
    edges = np.linspace(250, 1000, 11)
    flat = flat_pt_weights(pt, weight, label, edges)
    for value in (0, 1):
        take = label == value
        spectrum, _ = np.histogram(pt[take], bins=edges, weights=flat[take])
        filled = spectrum[spectrum > 0]
        np.testing.assert_allclose(filled, filled.mean(), rtol=1e-9)


def test_a_second_call_reads_the_cache(small_wjets):
    again = generate_wjets(
        WJetsSettings(events=1500, shard_events=300, fast=True, seed=3),
        output=small_wjets.path,
        progress=False,
    )
    np.testing.assert_array_equal(again.columns["jet_mass_sd"], small_wjets.columns["jet_mass_sd"])


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"events": 0}, "events must be a positive integer"),
        ({"events": 3}, r"at least the number of pT-hat bins \(5\)"),
        ({"processes": ("zjet",)}, "unknown process 'zjet'; valid: wjet, qcd"),
        ({"pt_hat_edges": (300, 200)}, "increasing"),
        ({"pt_hat_edges": (300, 1300)}, "must cover the jet pT window"),
        ({"jet_radius": 0.0}, "jet_radius"),
        ({"jet_eta_max": 4.5}, "jet_eta_max must be in"),
        ({"jet_pt_min": 900.0, "jet_pt_max": 500.0}, "0 < jet_pt_min < jet_pt_max"),
        ({"soft_drop_zcut": 0.7}, "zcut"),
        ({"max_constituents": 0}, "max_constituents"),
        ({"luminosity_fb": -1.0}, "luminosity_fb"),
    ],
)
def test_bad_settings_are_config_errors(settings, match):
    with pytest.raises(ConfigError, match=match):
        WJetsSettings(**settings)


def test_a_setting_pythia_rejects_is_an_error_and_writes_nothing(tmp_path):
    settings = WJetsSettings(events=5, pythia=("HardQCD:alll = on",))
    with pytest.raises(ConfigError, match="Pythia rejected .*alll"):
        generate_wjets(settings, output=tmp_path / "bad", executor=Executor("local", workers=1))
    assert os.listdir(tmp_path) == []


def test_a_shard_without_any_tower_gives_an_empty_table():
    from robusthep.sim.calorimeter import Calorimeter
    from robusthep.sim.wjets_shard import JetSelection, simulate_wjets

    blind = Calorimeter(em_threshold=1e9, hadronic_threshold=1e9)
    settings = ("HardQCD:all = on", "PhaseSpace:pTHatMin = 300.", "PartonLevel:MPI = off")
    result = simulate_wjets(settings, 5, 1, 2, JetSelection(), blind)
    assert result.generated == 5
    assert {len(values) for values in result.columns.values()} == {0}
    assert set(COLUMNS[:19]) <= set(result.columns)


def test_a_killed_run_resumes_from_its_finished_shards(tmp_path, monkeypatch):
    from robusthep.sim import wjets
    from robusthep.sim.cache import ShardStore

    settings = WJetsSettings(
        events=10, shard_events=5, fast=True, processes=("qcd",), pt_hat_edges=(250, 1300)
    )
    serial = Executor("local", workers=1)
    whole = generate_wjets(settings, output=tmp_path / "whole", executor=serial, progress=False)
    folder = tmp_path / "resumed"
    store = ShardStore(folder.parent / f".{folder.name}.shards-{settings.key()}")
    first, second = wjets.plan_wjets_shards(settings)
    store.save_bytes(first.name, wjets.run_wjets_shard(first)[1])  # killed after one shard
    seeds, simulate = [], wjets.simulate_wjets

    def counting(*arguments):
        seeds.append(arguments[2])
        return simulate(*arguments)

    monkeypatch.setattr(wjets, "simulate_wjets", counting)
    resumed = generate_wjets(settings, output=folder, executor=serial, progress=False)
    assert seeds == [second.pythia_seed]
    np.testing.assert_array_equal(resumed.columns["jet_d2"], whole.columns["jet_d2"])
