"""Fixtures of the study tests."""

import contextlib
from collections.abc import Iterator

import pytest
import torch


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the studies' networks are tiny: one thread is the fastest
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Run a module's studies on one torch thread, restoring the count afterwards."""
    with _one_thread():
        yield
