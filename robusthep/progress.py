"""Rich progress bars for long work: on stderr, and only on a terminal or in Jupyter."""

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


def progress_bar(
    enabled: bool, *columns: ProgressColumn, elapsed: bool = False, remaining: bool = True
) -> Progress:
    """A bar on stderr: description, bar, done/total, then ``columns`` and the times asked for.

    It shows only when ``enabled`` and stderr is a terminal (or Jupyter): a run whose
    output goes to a file or a pipe gets no bar, and its stdout stays the results. A
    hidden bar takes the same calls (``add_task``, ``update``, ``advance``) and draws
    nothing, so callers need no second path.

    Arguments:
        enabled: whether the caller asked for progress.
        columns: extra columns after the count (e.g. ``TextColumn("{task.fields[loss]}")``).
        elapsed: show the time elapsed.
        remaining: show the estimated time remaining.

    Example:
        >>> with progress_bar(False) as bar:
        ...     task = bar.add_task("work", total=2)
        ...     bar.advance(task)
        >>> bar.tasks[0].completed
        1
    """
    console = Console(stderr=True)
    shown = enabled and (console.is_terminal or console.is_jupyter)
    times = [
        *([TimeElapsedColumn()] if elapsed else []),
        *([TimeRemainingColumn()] if remaining else []),
    ]
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *columns,
        *times,
        console=console,
        disable=not shown,
    )
