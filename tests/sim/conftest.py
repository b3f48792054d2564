"""Small generated samples shared by the simulation tests (fast mode, one process each)."""

import pytest

from robusthep.parallel import Executor
from robusthep.sim.higgs import HiggsSettings, generate_higgs

SERIAL = Executor("local", workers=1)


def small_settings(**overrides):
    defaults = {"events": 240, "shard_events": 120, "fast": True, "seed": 1}
    return HiggsSettings(**{**defaults, **overrides})


@pytest.fixture(scope="session")
def make_small(tmp_path_factory):
    """Generate a small sample (serially) with settings overrides into a fresh folder."""

    def make(**overrides):
        folder = tmp_path_factory.mktemp("higgs") / "sample"
        return generate_higgs(
            small_settings(**overrides), output=folder, executor=SERIAL, progress=False
        )

    return make


@pytest.fixture(scope="session")
def small_higgs(make_small):
    """All four processes, 240 Pythia events each."""
    return make_small()


@pytest.fixture(scope="session")
def small_ztautau(make_small):
    """Z/γ* → ττ alone, enough events to locate its mass peak."""
    return make_small(events=800, shard_events=400, processes=("ztautau",))


@pytest.fixture(scope="session")
def small_wjets(tmp_path_factory):
    """W jets and QCD jets, fast mode, 1 500 Pythia events each over the five pT-hat bins."""
    from robusthep.sim.wjets import WJetsSettings, generate_wjets

    settings = WJetsSettings(events=1500, shard_events=300, fast=True, seed=3)
    folder = tmp_path_factory.mktemp("wjets") / "sample"
    return generate_wjets(settings, output=folder, executor=Executor("local"), progress=False)


@pytest.fixture(scope="session")
def small_btrigger(tmp_path_factory):
    """Two-track candidates from bb̄ and light-quark events, fast mode, 1 500 events each."""
    from robusthep.sim.btrigger import BTriggerSettings, generate_btrigger

    settings = BTriggerSettings(events=1500, shard_events=750, fast=True, seed=2)
    folder = tmp_path_factory.mktemp("btrigger") / "sample"
    return generate_btrigger(settings, output=folder, executor=Executor("local"), progress=False)
