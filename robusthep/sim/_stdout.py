"""Capturing what C++ libraries (Pythia, FastJet) print on file descriptor 1."""

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["captured_stdout"]


@contextlib.contextmanager
def captured_stdout() -> Iterator[list[str]]:
    """Collect the lines written to file descriptor 1 inside the block.

    Pythia prints its errors and FastJet its banner from C++, past ``sys.stdout``.

    Example:
        >>> with captured_stdout() as lines:
        ...     _ = os.write(1, b"from C++\\n")
        >>> lines
        ['from C++']
    """
    lines: list[str] = []
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield lines
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())
