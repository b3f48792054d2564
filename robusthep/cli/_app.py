"""The typer application every command module registers on."""

from typing import Annotated

import typer

__all__ = ["app", "epilog"]

app = typer.Typer(
    name="robusthep",
    help="Trustworthy machine learning for particle physics. Every command prints where it "
    "wrote its results.",
    epilog="Example: robusthep demo --quick   (then open runs/demo-<time>/report.html)",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def epilog(*examples: str) -> str:
    """The end of a command's ``--help``: its examples, one a line.

    Example:
        >>> print(epilog("robusthep info"))
        Example: robusthep info
    """
    label = "Example" if len(examples) == 1 else "Examples"
    # Typer joins epilog lines separated by a blank line into one paragraph each.
    return f"{label}: " + "\n\n".join(examples)


def _print_version(value: bool) -> None:
    if value:
        from robusthep import __version__

        typer.echo(f"robusthep {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print robusthep's version and exit.",
        ),
    ] = False,
) -> None:
    """Trustworthy machine learning for particle physics."""
