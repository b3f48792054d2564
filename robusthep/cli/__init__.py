"""The `robusthep` command line: one module per command family, each a thin layer."""

from robusthep.cli import generate, info, studies, train  # noqa: F401  (registers their commands)
from robusthep.cli._app import app
from robusthep.cli.cache import cache_app

app.add_typer(cache_app, name="cache")

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `robusthep` console script."""
    app()
