"""`robusthep info` and `robusthep version`: what is installed, where the cache is."""

import typer

from robusthep import __version__
from robusthep.cli._app import app, epilog

__all__ = ["info", "version"]

_LIBRARIES = ("torch", "numpy", "awkward", "pyarrow", "onnxruntime", "uproot", "pyhf", "ray")


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _size(bytes_: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if bytes_ < 1000 or unit == "GB":
            return f"{bytes_:.0f} {unit}" if unit == "B" else f"{bytes_:.1f} {unit}"
        bytes_ /= 1000
    return f"{bytes_:.1f} TB"  # pragma: no cover


@app.command(epilog=epilog("robusthep version"))
def version() -> None:
    """Print the versions of robusthep and of the libraries it stands on."""
    typer.echo(f"robusthep {__version__}")
    for name, found in _versions().items():
        typer.echo(f"{name} {found}")


@app.command(epilog=epilog("robusthep info"))
def info() -> None:
    """Versions, the cache folder and its size, and the parallel executor's defaults."""
    import os
    import sys

    from robusthep.parallel import EXECUTOR_KINDS
    from robusthep.sim.cache import cache_root
    from robusthep.sim.cache_entries import cache_entries

    typer.echo(f"robusthep {__version__} (python {sys.version.split()[0]})")
    for name, found in _versions().items():
        typer.echo(f"  {name} {found}")
    entries = cache_entries()
    total = sum(entry.bytes for entry in entries)
    source = "$ROBUSTHEP_CACHE" if "ROBUSTHEP_CACHE" in os.environ else "default"
    typer.echo(f"cache: {cache_root()} ({source}): {len(entries)} entries, {_size(total)}")
    typer.echo(
        f"executor: local by default, {os.cpu_count()} workers (cores here); "
        f"kinds: {', '.join(EXECUTOR_KINDS)}; a Ray cluster: --executor ray --address HOST:PORT"
    )
