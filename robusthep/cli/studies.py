"""One command per registered study (`robusthep toys`, `robusthep bench-tabular` …) and `demo`."""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import torch
import typer

from robusthep.cli._app import app, epilog
from robusthep.errors import RobustHEPError
from robusthep.report import RunFolder
from robusthep.report.toml import dumps_toml
from robusthep.studies.config import load_config
from robusthep.studies.demo import STUDIES, run_demo, run_study

__all__ = ["demo"]

_Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Run folder to write; default runs/<command>-<time>/."),
]
_Seed = Annotated[
    int | None, typer.Option("--seed", help="Seed of the study (overrides the configuration's).")
]
_Quick = Annotated[bool, typer.Option("--quick/--full", help="The demo size, or the full size.")]
_Config = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file updating the defaults; unknown keys are an error."),
]
_DemoConfig = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML file with one table per study, named toys and bench-tabular."
    ),
]
_Threads = Annotated[
    int,
    typer.Option(
        "--threads",
        min=1,
        help="Torch CPU threads. The studies' networks are tiny: one thread is fastest (more "
        "only add synchronisation, 2-6x slower on a busy 2-core machine).",
    ),
]
_Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]
_PrintConfig = Annotated[
    bool,
    typer.Option(
        "--print-config",
        help="Print the effective configuration (defaults, --quick, --config, --seed) as TOML "
        "and exit; save it, edit it, run it with --config.",
    ),
]


def _say(message: str) -> None:
    typer.secho(message, fg=typer.colors.CYAN, err=True)


def _report_where(run: Callable[[], RunFolder]) -> None:
    """Run, then print where it wrote; a robusthep error is a message and exit code 2."""
    try:
        folder = run()
    except RobustHEPError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {folder.path}/ (report: {folder.path / folder.REPORT})")


def _study_command(name: str) -> Callable[..., None]:
    """The command that runs study ``name``; every study of the registry gets one."""

    def command(
        output: _Output = None,
        seed: _Seed = None,
        quick: _Quick = False,
        config: _Config = None,
        progress: _Progress = True,
        threads: _Threads = 1,
        print_config: _PrintConfig = False,
    ) -> None:
        if print_config:
            _print_config(name, config, quick=quick, seed=seed)
            return
        torch.set_num_threads(threads)
        _report_where(
            lambda: run_study(
                name,
                output,
                config_file=config,
                quick=quick,
                seed=seed,
                progress=progress,
                log=_say,
            )[0]
        )

    command.__doc__ = STUDIES[name].title
    command.__name__ = name.replace("-", "_")
    return command


def _print_config(name: str, config_file: Path | None, *, quick: bool, seed: int | None) -> None:
    """Print study ``name``'s effective configuration as TOML; a bad one exits with code 2."""
    overrides = {} if seed is None else {"seed": seed}
    try:
        config = load_config(STUDIES[name].config, config_file, quick=quick, overrides=overrides)
    except RobustHEPError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(dumps_toml(config.model_dump(mode="json")), nl=False)


for _name in STUDIES:
    app.command(
        _name,
        epilog=epilog(
            f"robusthep {_name} --quick -o runs/{_name}",
            f"robusthep {_name} --print-config > {_name}.toml; robusthep {_name} --config "
            f"{_name}.toml",
        ),
    )(_study_command(_name))


@app.command(epilog=epilog("robusthep demo --quick -o runs/demo"))
def demo(
    output: _Output = None,
    seed: _Seed = None,
    quick: _Quick = True,
    config: _DemoConfig = None,
    progress: _Progress = True,
    threads: _Threads = 1,
) -> None:
    """Run every study and link their reports from one report.html."""
    torch.set_num_threads(threads)
    _report_where(
        lambda: run_demo(
            output, config_file=config, quick=quick, seed=seed, progress=progress, log=_say
        )[0]
    )
