"""`robusthep cache list|clear`: the generated datasets kept in the cache folder."""

from typing import Annotated

import typer

from robusthep.cli._app import epilog
from robusthep.cli.info import _size

__all__ = ["cache_app"]

cache_app = typer.Typer(
    help="The generated datasets in the cache ($ROBUSTHEP_CACHE or ~/.cache/robusthep).",
    epilog=epilog("robusthep cache list", "robusthep cache clear --yes"),
    no_args_is_help=True,
)


@cache_app.command("list", epilog=epilog("robusthep cache list"))
def list_entries() -> None:
    """List the cache's datasets (and unfinished shards) with their sizes."""
    from robusthep.sim.cache import cache_root
    from robusthep.sim.cache_entries import cache_entries

    entries = cache_entries()
    typer.echo(f"{cache_root()}: {len(entries)} entries, {_size(sum(e.bytes for e in entries))}")
    for entry in entries:
        what = f"{entry.events} events" if entry.events is not None else "unfinished shards"
        typer.echo(f"  {entry.name:<48} {_size(entry.bytes):>9}  {what}")


@cache_app.command("clear", epilog=epilog("robusthep cache clear wjets --yes"))
def clear(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Only entries whose name starts with one of these (e.g. wjets)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete datasets from the cache (all of them, or those named), after confirmation."""
    from robusthep.sim.cache import cache_root
    from robusthep.sim.cache_entries import cache_entries

    entries = [
        entry
        for entry in cache_entries()
        if not names or any(entry.name.lstrip(".").startswith(name) for name in names)
    ]
    if not entries:
        typer.echo(f"nothing to delete in {cache_root()}")
        return
    total = _size(sum(entry.bytes for entry in entries))
    if not yes and not typer.confirm(
        f"delete {len(entries)} entries ({total}) from {cache_root()}?"
    ):
        typer.echo("nothing deleted")
        raise typer.Exit(1)
    for entry in entries:
        entry.remove()
    typer.echo(f"deleted {len(entries)} entries ({total}) from {cache_root()}")
