"""Reading the user's tables: every format, and a clear error for each kind of bad input."""

import numpy as np
import pytest
import uproot
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from robusthep.data import write_dataset
from robusthep.data.table import Table, read_table, table_format, write_table
from robusthep.errors import DataError, RobustHEPError

COLUMNS = {
    "pt": np.array([250.0, 310.5, 401.0]),
    "n": np.array([1, 2, 3]),
    "label": np.array([0, 1, 1]),
}


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".root", ""])
def test_every_format_round_trips(tmp_path, suffix):
    path = write_table(COLUMNS, tmp_path / f"jets{suffix}")
    table = read_table(path)
    assert table.format == table_format(path)
    assert table.names == list(COLUMNS) or sorted(table.names) == sorted(COLUMNS)
    for name, values in COLUMNS.items():
        assert table.column(name).tolist() == values.tolist()


@given(
    hnp.arrays(
        np.float64,
        st.integers(1, 20),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
    ),
    st.sampled_from([".parquet", ".csv", ".root"]),
)
def test_floats_survive_every_file_format(tmp_path_factory, values, suffix):
    path = write_table({"x": values}, tmp_path_factory.mktemp("t") / f"x{suffix}")
    np.testing.assert_array_equal(read_table(path).numeric(["x"])[:, 0], values)


def test_columns_selects_and_a_missing_column_lists_those_there_are(tmp_path):
    path = write_table(COLUMNS, tmp_path / "jets.parquet")
    assert read_table(path, columns=["label"]).names == ["label"]
    with pytest.raises(DataError, match=r"no column 'eta'; its columns are: pt, n, label"):
        read_table(path, columns=["pt", "eta"])


def test_a_missing_branch_of_a_root_tree_lists_the_branches(tmp_path):
    path = write_table(COLUMNS, tmp_path / "jets.root", tree="Events")
    with pytest.raises(DataError, match=r"tree 'Events'.*no column 'eta'.*pt"):
        read_table(path, columns=["eta"])


def test_non_numeric_feature_is_named(tmp_path):
    path = tmp_path / "jets.csv"
    path.write_text("pt,flavour\n1.0,b\n2.0,c\n")
    with pytest.raises(DataError, match=r"feature column 'flavour' .* not numeric.*'b'"):
        read_table(path).numeric(["pt", "flavour"])


def test_list_columns_are_not_features(tmp_path):
    import awkward as ak

    folder = write_dataset(tmp_path / "d", {"pt": np.ones(2), "c": ak.Array([[1.0], []])}, {})
    with pytest.raises(DataError, match=r"'c' .* not numeric"):
        read_table(folder).numeric(["c"])


def test_nan_in_features_says_how_many_and_where(tmp_path):
    values = np.ones(10)
    values[[3, 7]] = np.nan
    infinite = np.ones(10)
    infinite[9] = np.inf
    path = write_table({"a": values, "b": infinite, "c": np.ones(10)}, tmp_path / "x.parquet")
    with pytest.raises(DataError) as caught:
        read_table(path).numeric(["a", "b", "c"])
    message = str(caught.value)
    assert "3 NaN or infinite values" in message
    assert "a: 2 (first rows [3, 7])" in message
    assert "b: 1 (first rows [9])" in message
    assert "c:" not in message


def test_a_root_file_with_several_trees_and_none_named_lists_them(tmp_path):
    path = tmp_path / "two.root"
    with uproot.recreate(path) as file:
        for name in ("signal", "background"):
            file.mktree(name, {"pt": np.float64})
            file[name].extend({"pt": np.arange(3.0)})
    with pytest.raises(DataError, match=r"2 trees: background, signal; choose one with --tree"):
        read_table(path)
    assert read_table(path, tree="signal").tree == "signal"
    with pytest.raises(DataError, match=r"no tree 'sig'; its trees are: background, signal"):
        read_table(path, tree="sig")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".root"])
def test_an_empty_file_is_an_error(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_table(path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".root"])
def test_a_file_without_rows_is_an_error(tmp_path, suffix):
    path = write_table({"pt": np.empty(0)}, tmp_path / f"none{suffix}")
    with pytest.raises(DataError, match="empty|no rows"):
        read_table(path)


def test_unknown_suffix_missing_file_and_plain_folder(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"x")
    with pytest.raises(DataError, match=r"\.parquet, \.pq, \.csv, \.root"):
        read_table(tmp_path / "x.h5")
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not a robusthep dataset"):
        read_table(tmp_path)


def test_a_tree_name_for_a_non_root_file_is_an_error(tmp_path):
    path = write_table(COLUMNS, tmp_path / "x.csv")
    with pytest.raises(DataError, match="only applies to ROOT"):
        read_table(path, tree="Events")


def test_a_corrupt_root_file_is_a_robusthep_error(tmp_path):
    path = tmp_path / "bad.root"
    path.write_bytes(b"not a root file at all" * 10)
    with pytest.raises(RobustHEPError, match="cannot open"):
        read_table(path)


def test_writing_text_to_root_says_to_use_parquet(tmp_path):
    table = Table({"name": np.array(["a", "b"], dtype=object)}, tmp_path / "x.csv", "csv")
    with pytest.raises(DataError, match="write Parquet"):
        write_table(table, tmp_path / "x.root")
