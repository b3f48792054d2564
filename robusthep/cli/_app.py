"""The typer application every command module registers on."""

import typer

__all__ = ["app"]

app = typer.Typer(
    name="robusthep",
    help="Trustworthy machine learning for particle physics. Every command prints where it "
    "wrote its results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Trustworthy machine learning for particle physics."""
