"""Dataset folders: round trips, atomic writes, damage detected."""

import json

import awkward as ak
import numpy as np
import pytest

from robusthep.data import read_dataset, write_dataset
from robusthep.data.dataset import EVENTS_FILE, META_FILE, columns_from_parquet
from robusthep.errors import DataError


def _table():
    return {
        "x": np.arange(4.0),
        "n": np.arange(4),
        "process": np.array(["a", "b", "a", "c"], dtype=object),
        "jet_pt": ak.Array([[30.0, 20.0], [], [50.0], [1.0, 2.0, 3.0]]),
    }


def test_round_trip_keeps_values_types_and_lists(tmp_path):
    folder = write_dataset(tmp_path / "d", _table(), {"generator": "test"})
    data = read_dataset(folder)
    assert len(data) == 4 and data.meta["generator"] == "test"
    assert data.columns["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert data.columns["n"].dtype == np.int64
    assert data.columns["process"].tolist() == ["a", "b", "a", "c"]
    assert data.columns["jet_pt"].tolist() == [[30.0, 20.0], [], [50.0], [1.0, 2.0, 3.0]]


def test_meta_records_schema_count_version_and_checksum(tmp_path):
    folder = write_dataset(tmp_path / "d", _table(), {})
    meta = json.loads((folder / META_FILE).read_text())
    assert {"schema_version", "n_events", "robusthep_version", "sha256"} <= set(meta)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    bad = {"x": np.arange(3.0), "y": np.arange(2.0)}
    with pytest.raises(DataError, match="different lengths"):
        write_dataset(tmp_path / "d", bad, {})
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_replaced_only_on_request(tmp_path):
    write_dataset(tmp_path / "d", _table(), {"v": 1})
    with pytest.raises(FileExistsError):
        write_dataset(tmp_path / "d", _table(), {"v": 2})
    write_dataset(tmp_path / "d", _table(), {"v": 2}, overwrite=True)
    assert read_dataset(tmp_path / "d").meta["v"] == 2


@pytest.mark.parametrize("damage", ["truncated", "altered", "no-events", "no-meta", "bad-schema"])
def test_damage_is_detected_never_read_as_whole(tmp_path, damage):
    folder = write_dataset(tmp_path / "d", _table(), {})
    events, meta = folder / EVENTS_FILE, folder / META_FILE
    if damage == "truncated":
        events.write_bytes(events.read_bytes()[:-50])
    elif damage == "altered":
        blob = bytearray(events.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        events.write_bytes(bytes(blob))
    elif damage == "no-events":
        events.unlink()
    elif damage == "no-meta":
        meta.unlink()
    else:
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "schema_version": 99}))
    with pytest.raises(DataError, match=str(folder)):
        read_dataset(folder)


def test_garbage_parquet_is_a_data_error():
    with pytest.raises(DataError, match="cannot read Parquet"):
        columns_from_parquet(b"not parquet at all")
