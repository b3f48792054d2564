"""The generation cache: hits, resumed shards, corrupt folders, bad input."""

import json
import os
import time

import numpy as np
import pytest

from robusthep.data.dataset import EVENTS_FILE, META_FILE, read_dataset
from robusthep.errors import ConfigError, DataError
from robusthep.parallel import Executor
from robusthep.sim import higgs
from robusthep.sim.cache import ShardStore
from robusthep.sim.higgs import HiggsSettings, generate_higgs, plan_shards, run_shard
from robusthep.sim.shard import simulate

SERIAL = Executor("local", workers=1)
TINY = HiggsSettings(events=100, shard_events=50, fast=True, seed=4, processes=("htautau",))


def _generate(folder, settings=TINY):
    return generate_higgs(settings, output=folder, executor=SERIAL, progress=False)


def _equal_tables(a, b):
    assert sorted(a.columns) == sorted(b.columns)
    for name in ("had_pt", "met", "weight", "jet_all_pt", "true_mass"):
        np.testing.assert_array_equal(a.columns[name], b.columns[name])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp("cache") / "tiny")


def test_a_second_call_returns_the_cache_at_once(tiny):
    start = time.perf_counter()
    again = _generate(tiny.path)
    assert time.perf_counter() - start < 1.0
    _equal_tables(tiny, again)
    assert not any(p.name.startswith(".") for p in tiny.path.parent.iterdir())


def test_the_folder_holds_parquet_and_meta_with_the_settings(tiny):
    assert sorted(p.name for p in tiny.path.iterdir()) == [EVENTS_FILE, META_FILE]
    meta = json.loads((tiny.path / META_FILE).read_text())
    assert meta["settings"]["events"] == 100 and meta["settings_key"] == TINY.key()
    assert meta["luminosity_fb"] == 36.0 and meta["n_events"] == len(tiny)
    assert meta["cross_sections_pb"]["htautau"] > 0


def test_a_killed_run_resumes_from_its_finished_shards(tiny, tmp_path, monkeypatch):
    folder = tmp_path / "resumed"
    store = ShardStore(folder.parent / f".{folder.name}.shards-{TINY.key()}")
    first, second = plan_shards(TINY)
    store.save_bytes(first.name, run_shard(first)[1])  # as if killed after the first shard
    seeds = []

    def counting(settings, events, pythia_seed, detector_seed):
        seeds.append(pythia_seed)
        return simulate(settings, events, pythia_seed, detector_seed)

    monkeypatch.setattr(higgs, "simulate", counting)
    resumed = _generate(folder)
    assert seeds == [second.pythia_seed]  # only the missing shard ran
    _equal_tables(tiny, resumed)
    assert not store.folder.exists()  # merged and cleaned up


def test_a_corrupt_shard_is_regenerated(tiny, tmp_path):
    folder = tmp_path / "corrupt-shard"
    store = ShardStore(folder.parent / f".{folder.name}.shards-{TINY.key()}")
    first, _ = plan_shards(TINY)
    store.save_bytes(first.name, run_shard(first)[1])
    blob = store.path(first.name).read_bytes()
    store.path(first.name).write_bytes(blob[: len(blob) // 2])
    assert store.load(first.name) is None
    _equal_tables(tiny, _generate(folder))


@pytest.mark.parametrize("damage", ["truncate", "meta"])
def test_a_corrupt_dataset_is_reported_by_the_reader_and_regenerated(
    tiny, tmp_path, damage, capsys
):
    folder = tmp_path / damage
    _generate(folder)
    if damage == "truncate":
        events = folder / EVENTS_FILE
        events.write_bytes(events.read_bytes()[:-100])
    else:
        (folder / META_FILE).write_text("{ not json")
    with pytest.raises(DataError, match="regenerate"):
        read_dataset(folder)
    _equal_tables(tiny, _generate(folder))
    assert "regenerating" in capsys.readouterr().err
    read_dataset(folder)


def test_a_folder_that_is_not_a_dataset_is_never_overwritten(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a robusthep dataset"):
        _generate(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_dataset_with_other_settings_is_not_overwritten(tiny):
    other = HiggsSettings(events=100, shard_events=50, fast=True, seed=5, processes=("htautau",))
    with pytest.raises(ConfigError, match="other settings"):
        _generate(tiny.path, other)


def test_an_unwritable_cache_folder_is_a_config_error_and_writes_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write in .*a-file"):
        _generate(blocker / "dataset")
    assert os.listdir(tmp_path) == ["a-file"]


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"events": 0}, "events must be a positive integer, got 0"),
        ({"events": -5}, "events must be a positive integer"),
        ({"processes": ("qcd",)}, "unknown process 'qcd'; valid: htautau, ztautau"),
        ({"seed": -1}, "seed must be"),
        ({"shard_events": 0}, "shard_events"),
    ],
)
def test_bad_settings_are_config_errors(settings, match):
    with pytest.raises(ConfigError, match=match):
        HiggsSettings(**settings)


def test_unknown_settings_keys_are_config_errors():
    with pytest.raises(ConfigError, match="unknown settings key 'evnts'; valid: events"):
        HiggsSettings.from_mapping({"evnts": 10})


def test_a_setting_pythia_rejects_surfaces_pythias_message_and_writes_nothing(tmp_path):
    settings = HiggsSettings(events=10, processes=("htautau",), pythia=("PartonLevel:MPII = off",))
    with pytest.raises(ConfigError, match="Pythia rejected .*MPII.*PYTHIA"):
        _generate(tmp_path / "bad", settings)
    assert os.listdir(tmp_path) == []
