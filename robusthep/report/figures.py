"""Figures: matplotlib (Agg) in the mplhep style, saved as PNG and always closed."""

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from robusthep.atomic import atomic_write_bytes

__all__ = ["figure"]


def _pyplot() -> Any:
    # Agg before pyplot is first imported: figures are written to files, never shown, and a
    # machine without a display must not need one.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def figure(
    path: str | os.PathLike,
    *,
    ncols: int = 1,
    nrows: int = 1,
    size: tuple[float, float] | None = None,
    dpi: int = 110,
) -> Iterator[tuple[Any, Any]]:
    """A figure in the mplhep (CMS-like) style, saved to ``path`` as PNG when the block ends.

    The figure is closed whatever happens, so long studies do not leak memory; it is
    written atomically, and not at all if the block raises.

    Arguments:
        path: the PNG to write; its folder is created if missing.
        ncols: columns of axes.
        nrows: rows of axes.
        size: the size in inches; by default 6×5 per panel.
        dpi: the resolution.

    Returns:
        A context manager yielding ``(fig, axes)`` (``axes`` an array when there are several).

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "line.png"
        >>> with figure(out) as (fig, ax):
        ...     _ = ax.plot([0, 1], [0, 1])
        >>> out.read_bytes()[:4]
        b'\\x89PNG'
    """
    plt = _pyplot()
    import mplhep

    if size is None:
        size = (6.0 * ncols, 5.0 * nrows)
    with plt.style.context(mplhep.style.CMS), plt.rc_context({"font.size": 13}):
        fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=True)
        try:
            yield fig, axes
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi)
            atomic_write_bytes(Path(path), buffer.getvalue())
        finally:
            plt.close(fig)
