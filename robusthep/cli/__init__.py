"""The `robusthep` command line: one module per command family, each a thin layer."""

from robusthep.cli import generate, info, studies  # noqa: F401  (registers their commands)
from robusthep.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `robusthep` console script."""
    app()
