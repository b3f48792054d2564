"""ResultStore: finished work kept by key, read back instead of computed again."""

import json
import math

import pytest

from robusthep.parallel import Executor
from robusthep.studies._resume import ResultStore, digest

SERIAL = Executor("local", workers=1)


def test_results_are_stored_as_they_finish_and_read_back_on_the_next_map(tmp_path):
    store = ResultStore(tmp_path / "done")
    calls = []

    def work(x):
        calls.append(x)
        return {"x": [x, math.nan], "ok": x > 1, "pulls": {"a": 0.1 * x}}

    first = store.map(SERIAL, work, [1, 2, 3], keys=["a", "b", "c"], sizes=[5, 5, 5], progress=True)
    assert calls == [1, 2, 3] and store.stored() == 3
    again = store.map(SERIAL, work, [1, 2, 3, 4], keys=["a", "b", "c", "d"])
    assert calls == [1, 2, 3, 4]  # only the new item ran
    assert json.dumps(again[:3]) == json.dumps(first)  # NaN and all, the same values
    assert again[3]["x"][0] == 4 and math.isnan(again[3]["x"][1])
    assert again[3]["ok"] is True and again[3]["pulls"] == {"a": pytest.approx(0.4)}


def test_a_stopped_map_keeps_what_finished(tmp_path):
    store = ResultStore(tmp_path / "done")

    def work(x):
        if x == 3:
            raise RuntimeError("killed")
        return x * 10

    with pytest.raises(RuntimeError, match="killed"):
        store.map(SERIAL, work, [1, 2, 3], keys=["one", "two", "three"])
    assert store.stored() == 2
    assert store.map(SERIAL, lambda x: x * 10, [1, 2, 3], keys=["one", "two", "three"]) == [
        10,
        20,
        30,
    ]


def test_unreadable_or_foreign_files_count_as_missing(tmp_path):
    store = ResultStore(tmp_path)
    store.save("a", 1)
    store.path("b").write_text('{"key": "a", "result": 1}')  # another key's result
    store.path("c").write_text('{"key": "c", "res')  # truncated
    assert store.load("a") == 1
    assert store.load("b") is None
    assert store.load("c") is None and not store.path("c").exists()
    assert store.map(SERIAL, lambda x: x + 1, [5, 6], keys=["b", "c"]) == [6, 7]
    store.clear()
    assert store.stored() == 0 and not tmp_path.exists()


def test_keys_must_match_items_and_missing_work_needs_a_function(tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(ValueError, match="2 items but 1 keys and 2 sizes"):
        store.map(SERIAL, str, [1, 2], keys=["a"])
    with pytest.raises(ValueError, match="not stored"):
        store.map(SERIAL, None, [1], keys=["a"])


def test_digest_separates_bytes_from_text_and_orders_keys():
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
    assert digest(b"ab") != digest("ab")
    assert digest("a", "b") != digest("ab")
    assert len(digest(1)) == 32
