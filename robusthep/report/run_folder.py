"""Run folders: where a study writes its results, config, figures and report."""

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from robusthep.atomic import atomic_write_text
from robusthep.report.page import Section, write_report
from robusthep.report.quantity import check_results
from robusthep.report.toml import dumps_toml

__all__ = ["RunFolder", "default_run_path"]


def default_run_path(
    command: str, *, root: str | os.PathLike = "runs", now: datetime.datetime | None = None
) -> Path:
    """``runs/<command>-<YYYYmmdd-HHMMSS>``, with ``-2``, ``-3`` … if that folder exists.

    Arguments:
        command: the command's name, e.g. ``"toys"``.
        root: the folder that holds the runs.
        now: the time stamp; the current local time by default.

    Returns:
        A path that does not exist yet.

    Example:
        >>> import datetime
        >>> stamp = datetime.datetime(2026, 1, 2, 3, 4, 5)
        >>> default_run_path("toys", root="/nonexistent", now=stamp)
        PosixPath('/nonexistent/toys-20260102-030405')
    """
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{command}-{stamp}"
    suffix = 2
    while path.exists():
        path = Path(root) / f"{command}-{stamp}-{suffix}"
        suffix += 1
    return path


class RunFolder:
    """A run's folder: ``results.json``, ``config.toml``, ``figures/*.png``, ``report.html``.

    Every file is written atomically; ``results.json`` is checked so that each number in it
    carries a unit (see :func:`~robusthep.report.quantity`).

    Arguments:
        path: the folder; created (with parents) if missing, reused if it exists.

    Example:
        >>> import tempfile, pathlib
        >>> from robusthep.report import quantity
        >>> run = RunFolder(pathlib.Path(tempfile.mkdtemp()) / "toys")
        >>> _ = run.write_config({"seed": 0})
        >>> _ = run.write_results({"rmse": quantity(0.12, "1")})
        >>> sorted(p.name for p in run.path.iterdir())
        ['config.toml', 'figures', 'results.json']
    """

    RESULTS = "results.json"
    CONFIG = "config.toml"
    REPORT = "report.html"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.figures.mkdir(parents=True, exist_ok=True)

    @classmethod
    def create(cls, command: str, output: str | os.PathLike | None = None) -> "RunFolder":
        """The folder ``output``, or a fresh ``runs/<command>-<time>/`` when it is None."""
        return cls(default_run_path(command) if output is None else output)

    @property
    def figures(self) -> Path:
        """The folder of the PNG figures."""
        return self.path / "figures"

    def figure_path(self, name: str) -> Path:
        """The path of figure ``name`` (``.png`` added if missing)."""
        return self.figures / (name if name.endswith(".png") else f"{name}.png")

    def relative(self, path: str | os.PathLike) -> str:
        """``path`` relative to this folder, with forward slashes, for links in the report."""
        return Path(os.path.relpath(Path(path), self.path)).as_posix()

    def write_config(self, config: Mapping[str, Any]) -> Path:
        """Write ``config.toml``: what was run (e.g. ``model.model_dump(mode="json")``)."""
        return atomic_write_text(self.path / self.CONFIG, dumps_toml(config))

    def write_results(self, results: Mapping[str, Any]) -> Path:
        """Write ``results.json`` after checking every number has a unit."""
        check_results(results)
        text = json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False)
        return atomic_write_text(self.path / self.RESULTS, text + "\n")

    def write_report(
        self, *, title: str, sections: Sequence[Section], command: str | None = None
    ) -> Path:
        """Write ``report.html``, linking ``results.json`` and ``config.toml`` if present."""
        return write_report(
            self.path / self.REPORT,
            title=title,
            sections=sections,
            command=command,
            results_file=self.RESULTS if (self.path / self.RESULTS).exists() else None,
            config_file=self.CONFIG if (self.path / self.CONFIG).exists() else None,
        )
