"""`robusthep generate DATASET`: make a dataset with Pythia, or find it in the cache."""

from pathlib import Path
from typing import Annotated

import typer

from robusthep.cli._app import app, epilog
from robusthep.errors import ConfigError, RobustHEPError

__all__ = ["generate"]


@app.command(
    epilog=epilog(
        "robusthep generate wjets --quick",
        "robusthep generate higgs --events 50000 --executor ray --address 10.0.0.1:6379",
    )
)
def generate(
    dataset: Annotated[str, typer.Argument(help="Which dataset: higgs, wjets or btrigger.")],
    events: Annotated[
        int | None,
        typer.Option(
            "--events",
            help="Pythia events per process (higgs 20000, 4000 with --quick; wjets 20000, "
            "3000 with --quick, split over its pT-hat bins; btrigger 20000, 5000 with --quick).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Master seed of all shards.")] = 0,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Dataset folder (default: the cache, $ROBUSTHEP_CACHE)."),
    ] = None,
    executor: Annotated[str, typer.Option("--executor", help="local or ray.")] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join: auto or host:port.")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Parallel workers.")] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Demo size: fast mode, fewer events.")
    ] = False,
    fast: Annotated[
        bool | None, typer.Option("--fast/--full", help="Without multiparton interactions.")
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any other setting as KEY=VALUE (TOML value), e.g. --set jet_radius=0.8 "
            "--set 'pt_hat_edges=[250, 500, 1300]'; repeatable.",
        ),
    ] = None,
) -> None:
    """Generate a dataset (events.parquet + meta.json) and print where it is."""
    from robusthep.parallel import Executor
    from robusthep.sim.datasets import generator

    try:
        settings_class, generate_dataset = generator(dataset)
        overrides: dict[str, object] = {"seed": seed}
        if events is not None:
            overrides["events"] = events
        if fast is not None:
            overrides["fast"] = fast
        overrides.update(_parse_values(values or []))
        settings = (
            settings_class.quick(**overrides) if quick else settings_class.from_mapping(overrides)
        )
        runner = Executor(executor, workers=workers, address=address)
        result = generate_dataset(settings, output=output, executor=runner)
    except RobustHEPError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from error
    typer.echo(f"wrote {len(result)} events to {result.path}")


def _parse_values(values: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings to a mapping; a VALUE that is not TOML is taken as a string."""
    import tomllib

    parsed: dict[str, object] = {}
    for item in values:
        key, equals, text = item.partition("=")
        if not equals or not key.strip():
            raise ConfigError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            value = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            value = text
        parsed[key.strip()] = tuple(value) if isinstance(value, list) else value
    return parsed
