"""The events do not depend on where the shards run."""

import awkward as ak
import numpy as np
import pytest

from robusthep.parallel import Executor
from robusthep.sim.higgs import HiggsSettings, generate_higgs

SETTINGS = HiggsSettings(
    events=120, shard_events=40, fast=True, seed=9, processes=("htautau", "ttbar")
)


def _events(folder, executor, settings=SETTINGS):
    return generate_higgs(settings, output=folder, executor=executor, progress=False).columns


def _assert_same(a, b):
    for name in ("had_pt", "lep_pt", "met", "jet_all_pt", "weight", "true_mass"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_one_or_two_local_workers_give_identical_events(tmp_path):
    tiny = HiggsSettings(events=60, shard_events=30, fast=True, seed=9, processes=("htautau",))
    serial = _events(tmp_path / "one", Executor("local", workers=1), tiny)
    _assert_same(serial, _events(tmp_path / "two", Executor("local", workers=2), tiny))


@pytest.mark.slow
def test_local_processes_and_a_local_ray_cluster_give_identical_events(tmp_path):
    local = _events(tmp_path / "local", Executor("local", workers=2))
    _assert_same(local, _events(tmp_path / "ray", Executor("ray", workers=2)))


def _same_tables(a, b):
    assert sorted(a) == sorted(b)
    for name, values in a.items():
        if isinstance(values, ak.Array) or name == "process":
            assert values.tolist() == b[name].tolist(), name
        else:
            np.testing.assert_array_equal(values, b[name], err_msg=name)


def _jets_and_candidates(folder, executor):
    from robusthep.sim.btrigger import BTriggerSettings, generate_btrigger
    from robusthep.sim.wjets import WJetsSettings, generate_wjets

    jets = WJetsSettings(
        events=20, shard_events=10, fast=True, seed=5, processes=("qcd",), pt_hat_edges=(250, 1300)
    )
    candidates = BTriggerSettings(events=200, shard_events=100, fast=True, processes=("bbbar",))
    return (
        generate_wjets(jets, output=folder / "wjets", executor=executor, progress=False).columns,
        generate_btrigger(
            candidates, output=folder / "btrigger", executor=executor, progress=False
        ).columns,
    )


def test_wjets_and_btrigger_do_not_depend_on_the_number_of_workers(tmp_path):
    serial = _jets_and_candidates(tmp_path / "one", Executor("local", workers=1))
    parallel = _jets_and_candidates(tmp_path / "two", Executor("local", workers=2))
    for a, b in zip(serial, parallel, strict=True):
        _same_tables(a, b)


@pytest.mark.slow
def test_wjets_and_btrigger_are_the_same_on_a_local_ray_cluster(tmp_path):
    local = _jets_and_candidates(tmp_path / "local", Executor("local", workers=2))
    ray = _jets_and_candidates(tmp_path / "ray", Executor("ray", workers=2))
    for a, b in zip(local, ray, strict=True):
        _same_tables(a, b)
