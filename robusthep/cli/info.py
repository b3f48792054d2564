"""`robusthep version`: what is installed."""

import typer

from robusthep import __version__
from robusthep.cli._app import app

__all__ = ["version"]


@app.command()
def version() -> None:
    """Print the versions of robusthep and of the libraries it stands on."""
    import numpy
    import torch

    typer.echo(f"robusthep {__version__}")
    typer.echo(f"torch {torch.__version__}")
    typer.echo(f"numpy {numpy.__version__}")
