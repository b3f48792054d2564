"""Datasets on disk and the tabular benchmarks robusthep ships with."""

from robusthep.data.autompg import load_auto_mpg

__all__ = ["load_auto_mpg"]
