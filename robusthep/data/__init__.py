"""Datasets on disk, the user's own tables, and the tabular benchmarks robusthep ships with."""

from robusthep.data.autompg import load_auto_mpg
from robusthep.data.dataset import Dataset, read_dataset, read_meta, select_rows, write_dataset
from robusthep.data.table import Table, read_table, write_table

__all__ = [
    "Dataset",
    "Table",
    "load_auto_mpg",
    "read_dataset",
    "read_meta",
    "read_table",
    "select_rows",
    "write_dataset",
    "write_table",
]
