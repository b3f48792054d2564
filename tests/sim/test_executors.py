"""The events do not depend on where the shards run."""

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
