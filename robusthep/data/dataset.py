"""A dataset on disk: a folder with ``events.parquet`` and ``meta.json``, written atomically."""

import hashlib
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robusthep import __version__
from robusthep.atomic import atomic_directory
from robusthep.errors import DataError

__all__ = [
    "EVENTS_FILE",
    "META_FILE",
    "SCHEMA_VERSION",
    "Dataset",
    "columns_from_parquet",
    "columns_to_parquet",
    "read_dataset",
    "read_meta",
    "select_rows",
    "write_dataset",
]

EVENTS_FILE = "events.parquet"
META_FILE = "meta.json"
SCHEMA_VERSION = 1
"""Version of the on-disk layout; a reader refuses a dataset written with another one."""

Table = dict[str, Any]


@dataclass(frozen=True)
class Dataset:
    """An event table read from disk, with its metadata.

    Attributes:
        path: the dataset folder.
        meta: the contents of ``meta.json`` (generator, settings, seed, cross sections in
            pb, luminosity in fb⁻¹, number of events, versions, checksum).
        columns: column name → numpy array (flat features) or awkward array (lists).
    """

    path: Path
    meta: dict[str, Any]
    columns: Table

    def __len__(self) -> int:
        return int(self.meta["n_events"])


def columns_to_parquet(
    columns: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
) -> bytes:
    """Serialise a table (numpy and awkward columns of equal length) to Parquet bytes.

    Arguments:
        columns: column name → 1-d numpy array or awkward list array.
        metadata: JSON-serialisable values stored in the file's key-value metadata.

    Returns:
        The Parquet file's bytes.

    Example:
        >>> blob = columns_to_parquet({"x": np.arange(3.0), "j": ak.Array([[1.0], [], [2.0]])})
        >>> back, _ = columns_from_parquet(blob)
        >>> back["x"].tolist(), back["j"].tolist()
        ([0.0, 1.0, 2.0], [[1.0], [], [2.0]])
    """
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(f"columns have different lengths: {lengths}")
    arrays = {
        name: ak.to_arrow(values, extensionarray=False)
        if isinstance(values, ak.Array)
        else pa.array(np.asarray(values))
        for name, values in columns.items()
    }
    table = pa.table(arrays)
    if metadata is not None:
        table = table.replace_schema_metadata({"robusthep": json.dumps(dict(metadata))})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def columns_from_parquet(source: bytes | str | os.PathLike) -> tuple[Table, dict[str, Any]]:
    """Read a table written by :func:`columns_to_parquet`: (columns, metadata).

    List columns come back as awkward arrays, the others as numpy arrays.
    """
    try:
        table = pq.read_table(pa.BufferReader(source) if isinstance(source, bytes) else source)
    except (pa.ArrowException, OSError) as error:
        raise DataError(f"cannot read Parquet data from {_describe(source)}: {error}") from error
    columns: Table = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            columns[name] = ak.from_arrow(column)
        else:
            columns[name] = column.to_numpy()
    raw = (table.schema.metadata or {}).get(b"robusthep")
    return columns, json.loads(raw) if raw else {}


def _describe(source: bytes | str | os.PathLike) -> str:
    return "memory" if isinstance(source, bytes) else str(source)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def select_rows(columns: Mapping[str, Any], keep: np.ndarray) -> Table:
    """Return a new table with the rows where ``keep`` is true (numpy and awkward alike).

    Example:
        >>> select_rows({"x": np.arange(3)}, np.array([True, False, True]))["x"].tolist()
        [0, 2]
    """
    return {name: values[keep] for name, values in columns.items()}


def write_dataset(
    path: str | os.PathLike,
    columns: Mapping[str, Any],
    meta: Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a dataset folder atomically: a reader sees all of it or none of it.

    ``meta.json`` gets ``schema_version``, ``n_events``, ``robusthep_version`` and the
    SHA-256 of ``events.parquet`` added to ``meta``.

    Arguments:
        path: the folder to create.
        columns: the event table.
        meta: JSON-serialisable metadata.
        overwrite: replace an existing folder.

    Returns:
        The folder written.

    Example:
        >>> import tempfile
        >>> folder = write_dataset(Path(tempfile.mkdtemp()) / "d", {"x": np.ones(2)}, {"a": 1})
        >>> data = read_dataset(folder)
        >>> len(data), data.meta["a"], data.columns["x"].tolist()
        (2, 1, [1.0, 1.0])
    """
    path = Path(path)
    blob = columns_to_parquet(columns)
    n_events = len(next(iter(columns.values()))) if columns else 0
    full_meta = {
        **dict(meta),
        "schema_version": SCHEMA_VERSION,
        "n_events": n_events,
        "robusthep_version": __version__,
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    with atomic_directory(path, overwrite=overwrite) as tmp:
        (tmp / EVENTS_FILE).write_bytes(blob)
        (tmp / META_FILE).write_text(json.dumps(full_meta, indent=2, sort_keys=True))
    return path


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``meta.json`` of a dataset folder (raises DataError when unusable)."""
    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise DataError(f"{path} is not a dataset: {META_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(
            f"{meta_path} is corrupt ({error}); delete {path} and regenerate"
        ) from error
    for key in ("schema_version", "n_events", "sha256"):
        if key not in meta:
            raise DataError(f"{meta_path} lacks {key!r}; delete {path} and regenerate")
    if meta["schema_version"] != SCHEMA_VERSION:
        raise DataError(
            f"{path} has schema version {meta['schema_version']}, this robusthep reads "
            f"{SCHEMA_VERSION}; regenerate it"
        )
    return meta


def read_dataset(path: str | os.PathLike) -> Dataset:
    """Read a dataset folder, checking that it is whole.

    Arguments:
        path: a folder written by :func:`write_dataset`.

    Returns:
        The :class:`Dataset`.

    Raises:
        DataError: when a file is missing, the checksum of ``events.parquet`` differs from
            the one in ``meta.json`` (a truncated or altered file), or the row count differs.
    """
    path = Path(path)
    meta = read_meta(path)
    events = path / EVENTS_FILE
    if not events.is_file():
        raise DataError(f"{path} is incomplete: {EVENTS_FILE} is missing; regenerate it")
    if _sha256(events) != meta["sha256"]:
        raise DataError(
            f"{events} does not match the checksum in {META_FILE} (truncated or altered); "
            f"delete {path} and regenerate"
        )
    columns, _ = columns_from_parquet(events)
    rows = {len(values) for values in columns.values()}
    if rows and rows != {meta["n_events"]}:
        raise DataError(f"{events} has {rows} rows, {META_FILE} says {meta['n_events']}")
    return Dataset(path=path, meta=meta, columns=columns)
