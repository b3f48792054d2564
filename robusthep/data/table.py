"""A user's table of events from a Parquet, CSV or ROOT file or a robusthep dataset."""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from robusthep.data.dataset import META_FILE, columns_from_parquet, read_dataset, write_dataset
from robusthep.errors import DataError, MissingDependencyError

__all__ = ["FORMATS", "Table", "read_table", "table_format", "write_table"]

#: The formats :func:`read_table` reads and :func:`write_table` writes, by file suffix.
FORMATS: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".root": "root",
}

_TREE_CLASSES = ("TTree", "ROOT::RNTuple")
_SHOWN = 20  # names listed in an error message before "…"


@dataclass(frozen=True)
class Table:
    """Columns of equal length read from a file, and where they came from.

    Attributes:
        columns: column name → numpy array (awkward array for variable-length lists).
        path: the file or dataset folder.
        format: ``"parquet"``, ``"csv"``, ``"root"``, ``"dataset"`` or ``"memory"``.
        tree: the ROOT tree the columns came from (None for the other formats).
    """

    columns: dict[str, Any]
    path: Path
    format: str
    tree: str | None = None

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> "Table":
        """A table of arrays in memory (format ``"memory"``).

        Example:
            >>> Table.from_columns({"pt": [1.0, 2.0]}).numeric(["pt"]).tolist()
            [[1.0], [2.0]]
        """
        return cls(
            {name: np.asarray(values) for name, values in columns.items()},
            Path("<memory>"),
            "memory",
        )

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    @property
    def names(self) -> list[str]:
        """The column names, in file order."""
        return list(self.columns)

    def column(self, name: str) -> Any:
        """The column ``name``; a missing one raises ``DataError`` listing those there are.

        Example:
            >>> table = Table({"pt": np.ones(2)}, Path("x.csv"), "csv")
            >>> table.column("eta")
            Traceback (most recent call last):
            ...
            robusthep.errors.DataError: x.csv has no column 'eta'; its columns are: pt
        """
        _require(self.describe(), self.names, [name])
        return self.columns[name]

    def describe(self) -> str:
        """Where the table came from, for messages: the path, and the tree for ROOT."""
        return f"{self.path}" + (f" (tree {self.tree!r})" if self.tree else "")

    def numeric(self, names: Sequence[str], *, role: str = "feature") -> np.ndarray:
        """The columns ``names`` as an (N, len(names)) float64 matrix, checked.

        Arguments:
            names: the columns, in order.
            role: what they are for (``"feature"``, ``"target"``, …), named in errors.

        Returns:
            The matrix.

        Raises:
            DataError: a missing column (the columns there are are listed), a column that
                is not a number per row (text, lists), or NaN/infinite values (how many,
                in which columns, and the first rows).

        Example:
            >>> table = Table({"a": np.array([1.0, np.nan, np.nan]), "b": np.ones(3)},
            ...               Path("x.parquet"), "parquet")
            >>> table.numeric(["b"]).shape
            (3, 1)
            >>> table.numeric(["a", "b"])
            Traceback (most recent call last):
            ...
            robusthep.errors.DataError: 2 NaN or infinite values in the feature columns of \
x.parquet: a: 2 (first rows [1, 2]); drop or impute them first
        """
        _require(self.describe(), self.names, names)
        matrix = np.empty((len(self), len(names)), dtype=np.float64)
        for index, name in enumerate(names):
            matrix[:, index] = self._number_column(name, role)
        bad = ~np.isfinite(matrix)
        if bad.any():
            where = []
            for index, name in enumerate(names):
                rows = np.flatnonzero(bad[:, index])
                if rows.size:
                    where.append(f"{name}: {rows.size} (first rows {rows[:5].tolist()})")
            raise DataError(
                f"{int(bad.sum())} NaN or infinite values in the {role} columns of "
                f"{self.describe()}: {'; '.join(where)}; drop or impute them first"
            )
        return matrix

    def _number_column(self, name: str, role: str) -> np.ndarray:
        values = self.columns[name]
        kind = getattr(getattr(values, "dtype", None), "kind", "O")
        if isinstance(values, ak.Array) or kind not in "biuf":
            sample = values[0] if len(values) else None
            raise DataError(
                f"the {role} column {name!r} of {self.describe()} is not numeric (dtype "
                f"{getattr(values, 'dtype', type(values).__name__)}, first value {sample!r}); "
                f"a {role} must be one number per row: encode it as numbers or leave it out"
            )
        return np.asarray(values, dtype=np.float64)


def table_format(path: str | os.PathLike) -> str:
    """The format of ``path``: a dataset folder, or by suffix (see :data:`FORMATS`).

    Example:
        >>> table_format("events.root"), table_format("x.CSV")
        ('root', 'csv')
    """
    path = Path(path)
    if path.is_dir() or path.suffix == "":
        return "dataset"
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"cannot tell the format of {path} from its suffix {path.suffix!r}; robusthep reads "
            f"{', '.join(FORMATS)} files and robusthep dataset folders"
        )
    return FORMATS[suffix]


def read_table(
    path: str | os.PathLike,
    *,
    columns: Sequence[str] | None = None,
    tree: str | None = None,
) -> Table:
    """Read a Parquet, CSV or ROOT file, or a robusthep dataset folder, as a :class:`Table`.

    Arguments:
        path: the file (format from its suffix: ``.parquet``/``.pq``, ``.csv``, ``.root``)
            or a dataset folder (``events.parquet`` + ``meta.json``).
        columns: read only these (all by default); a missing one is an error that lists
            the columns there are.
        tree: the TTree of a ROOT file; needed when the file holds several.

    Returns:
        The table.

    Raises:
        DataError: a missing or unreadable file, an unknown suffix, an empty file, a missing
            column, a ROOT file with no tree or several and none named (they are listed).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "jets.csv"
        >>> _ = path.write_text("pt,mass\\n250.0,80.1\\n310.5,91.0\\n")
        >>> table = read_table(path)
        >>> table.names, len(table), table.column("pt").tolist()
        (['pt', 'mass'], 2, [250.0, 310.5])
        >>> read_table(path, columns=["pt", "tau21"])
        Traceback (most recent call last):
        ...
        robusthep.errors.DataError: ... has no column 'tau21'; its columns are: pt, mass
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist")
    kind = table_format(path)
    if tree is not None and kind != "root":
        raise DataError(f"a tree name ({tree!r}) only applies to ROOT files, not to {path}")
    if kind == "root":
        return _read_root(path, columns, tree)
    if kind == "dataset":
        if not (path / META_FILE).is_file():
            raise DataError(
                f"{path} is a folder but not a robusthep dataset ({META_FILE} is missing); "
                "give a .parquet, .csv or .root file or a dataset folder"
            )
        data = read_dataset(path).columns
    elif path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes)")
    elif kind == "csv":
        data = _read_csv(path)
    else:
        data, _ = columns_from_parquet(path)
    if columns is not None:
        _require(str(path), list(data), columns)
        data = {name: data[name] for name in columns}
    table = Table(columns=data, path=path, format=kind)
    _check_not_empty(table)
    return table


def write_table(
    table: Table | Mapping[str, Any], path: str | os.PathLike, *, tree: str | None = None
) -> Path:
    """Write columns to ``path`` in the format its suffix names (a folder: a dataset).

    Arguments:
        table: a :class:`Table` or a mapping column name → array.
        path: the file or dataset folder to write; an existing one is replaced.
        tree: the TTree name of a ROOT file (default: the table's, else ``"events"``).

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> out = write_table({"x": np.arange(3.0)}, Path(tempfile.mkdtemp()) / "x.parquet")
        >>> read_table(out).column("x").tolist()
        [0.0, 1.0, 2.0]
    """
    path = Path(path)
    columns = dict(table.columns if isinstance(table, Table) else table)
    if tree is None and isinstance(table, Table):
        tree = table.tree
    kind = table_format(path) if path.suffix else "dataset"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "dataset":
        meta = {"generator": "robusthep.data.write_table"}
        if isinstance(table, Table) and table.format == "dataset":
            meta = {**read_dataset(table.path).meta, **meta}
            for key in ("schema_version", "n_events", "robusthep_version", "sha256"):
                meta.pop(key, None)
        return write_dataset(path, columns, meta, overwrite=True)
    if kind == "csv":
        _write_csv(columns, path)
    elif kind == "root":
        _write_root(columns, path, tree or "events")
    else:
        from robusthep.atomic import atomic_write_bytes
        from robusthep.data.dataset import columns_to_parquet

        atomic_write_bytes(path, columns_to_parquet(columns))
    return path


def _require(where: str, available: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [name for name in wanted if name not in available]
    if missing:
        shown = ", ".join(available[:_SHOWN]) + (" …" if len(available) > _SHOWN else "")
        names = ", ".join(repr(name) for name in missing)
        raise DataError(
            f"{where} has no column{'s' if len(missing) > 1 else ''} {names}; its columns "
            f"are: {shown or '(none)'}"
        )


def _check_not_empty(table: Table) -> None:
    if not table.columns:
        raise DataError(f"{table.describe()} has no columns")
    if len(table) == 0:
        raise DataError(f"{table.describe()} is empty: it has columns {table.names} but no rows")


def _read_csv(path: Path) -> dict[str, Any]:
    import pyarrow as pa
    from pyarrow import csv

    try:
        data = csv.read_csv(path)
    except pa.ArrowInvalid as error:
        if "Empty CSV file" in str(error):
            raise DataError(f"{path} is empty: no header and no rows") from error
        raise DataError(f"cannot read {path} as CSV: {error}") from error
    return {
        name: column.to_numpy(zero_copy_only=False)
        for name, column in zip(data.column_names, data.columns, strict=True)
    }


def _write_csv(columns: Mapping[str, Any], path: Path) -> None:
    import pyarrow as pa
    from pyarrow import csv

    from robusthep.atomic import atomic_write_bytes

    lists = [name for name, values in columns.items() if isinstance(values, ak.Array)]
    if lists:
        raise DataError(f"CSV cannot hold the list columns {lists}; write Parquet or ROOT instead")
    sink = pa.BufferOutputStream()
    csv.write_csv(pa.table({k: np.asarray(v) for k, v in columns.items()}), sink)
    atomic_write_bytes(path, sink.getvalue().to_pybytes())


def _uproot() -> Any:
    try:
        import uproot
    except ModuleNotFoundError as error:  # pragma: no cover - a declared dependency
        raise MissingDependencyError(
            "reading ROOT files needs uproot: pip install uproot"
        ) from error
    return uproot


def _write_root(columns: Mapping[str, Any], path: Path, tree: str) -> None:
    """A TTree (not uproot's default RNTuple), which every ROOT version reads."""
    uproot = _uproot()
    types: dict[str, Any] = {}
    for name, values in columns.items():
        if isinstance(values, ak.Array):
            types[name] = "var * float64"
        elif np.asarray(values).dtype.kind in "biuf":
            types[name] = np.asarray(values).dtype
        else:
            raise DataError(
                f"column {name!r} ({np.asarray(values).dtype}) cannot go into a ROOT tree; "
                "write Parquet instead"
            )
    with uproot.recreate(path) as file:
        file.mktree(tree, types)
        file[tree].extend(
            {
                name: ak.values_astype(values, np.float64)
                if isinstance(values, ak.Array)
                else values
                for name, values in columns.items()
            }
        )


def _read_root(path: Path, columns: Sequence[str] | None, tree: str | None) -> Table:
    uproot = _uproot()
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes)")
    try:
        file = uproot.open(path)
    except Exception as error:  # uproot raises many unexported kinds
        raise DataError(f"cannot open {path} as a ROOT file: {error}") from error
    with file:
        trees = sorted(
            {
                name
                for name, kind in file.classnames(cycle=False, recursive=True).items()
                if kind in _TREE_CLASSES
            }
        )
        if tree is None:
            if not trees:
                raise DataError(f"{path} holds no TTree (its keys: {file.keys(cycle=False)})")
            if len(trees) > 1:
                raise DataError(
                    f"{path} holds {len(trees)} trees: {', '.join(trees)}; choose one with "
                    "--tree NAME (tree=NAME in Python)"
                )
            tree = trees[0]
        elif tree not in trees:
            raise DataError(
                f"{path} has no tree {tree!r}; its trees are: {', '.join(trees) or '(none)'}"
            )
        branches = file[tree].keys()
        wanted = list(columns) if columns is not None else branches
        _require(f"{path} (tree {tree!r})", branches, wanted)
        arrays = file[tree].arrays(wanted, library="np") if wanted else {}
    data = {name: _root_column(arrays[name]) for name in wanted}
    table = Table(columns=data, path=path, format="root", tree=tree)
    _check_not_empty(table)
    return table


def _root_column(values: np.ndarray) -> Any:
    """Variable-length branches come as object arrays of arrays: make them awkward."""
    if values.dtype == object:
        return ak.Array([np.asarray(entry).tolist() for entry in values])
    return values
