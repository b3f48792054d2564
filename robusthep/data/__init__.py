"""Datasets on disk and the tabular benchmarks robusthep ships with."""

from robusthep.data.autompg import load_auto_mpg
from robusthep.data.dataset import Dataset, read_dataset, read_meta, select_rows, write_dataset

__all__ = ["Dataset", "load_auto_mpg", "read_dataset", "read_meta", "select_rows", "write_dataset"]
