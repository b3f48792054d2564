"""`robusthep train`, `predict`, `verify`: guaranteed models on the user's own files."""

from pathlib import Path
from typing import Annotated, Any

import torch
import typer

from robusthep.cli._app import app, epilog
from robusthep.errors import RobustHEPError

__all__ = ["predict", "train", "verify"]

_Tree = Annotated[
    str | None, typer.Option("--tree", help="The TTree of a ROOT file holding several.")
]


def _names(text: str | None) -> list[str] | None:
    """``"a,b , c"`` → ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _fail(error: RobustHEPError) -> typer.Exit:
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    return typer.Exit(2)


@app.command(
    epilog=epilog(
        "robusthep train jets.parquet --target label --features pt,tau21,d2 "
        "--increasing pt --decorrelate mass --method mode0 --lam 10 -o runs/tagger",
        "robusthep train ntuple.root --tree Events --target lifetime --task regress "
        "--features pt,ip,chi2 --decreasing chi2 -o runs/lifetime",
    )
)
def train(
    data: Annotated[
        Path, typer.Argument(help="A .parquet, .csv or .root file, or a robusthep dataset.")
    ],
    target: Annotated[
        str | None, typer.Option("--target", help="The column to predict (0/1 to classify).")
    ] = None,
    features: Annotated[
        str | None, typer.Option("--features", help="Input columns, comma-separated.")
    ] = None,
    weights: Annotated[str | None, typer.Option("--weights", help="A column of weights.")] = None,
    task: Annotated[
        str | None, typer.Option("--task", help="classify (default) or regress.")
    ] = None,
    increasing: Annotated[
        str | None, typer.Option("--increasing", help="Features the output must not decrease in.")
    ] = None,
    decreasing: Annotated[
        str | None, typer.Option("--decreasing", help="Features the output must not increase in.")
    ] = None,
    lipschitz: Annotated[
        float | None,
        typer.Option("--lipschitz", help="λ: bound on |∂f/∂xᵢ| per standard deviation (1.0)."),
    ] = None,
    hidden: Annotated[
        str | None, typer.Option("--hidden", help="Hidden widths, e.g. 64,64 (the default).")
    ] = None,
    decorrelate: Annotated[
        str | None, typer.Option("--decorrelate", help="A protected column, e.g. the mass.")
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            help="mode0 (default), mode1, mode2, disco or adversary. MoDe needs large batches "
            "(--batch-size 2048).",
        ),
    ] = None,
    lam: Annotated[float | None, typer.Option("--lam", help="Decorrelation strength (10).")] = None,
    val: Annotated[float | None, typer.Option("--val", help="Validation fraction (0.2).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of split and weights.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs (50).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Rows a batch.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Adam's learning rate.")] = None,
    patience: Annotated[
        int | None, typer.Option("--patience", help="Stop after N epochs without progress.")
    ] = None,
    tree: _Tree = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Model folder; default runs/train-<time>/."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML file of these settings; options override it."),
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the settings as TOML and exit.")
    ] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar.")
    ] = True,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch CPU threads.")] = 1,
) -> None:
    """Train a Lipschitz, optionally monotonic and decorrelated, model on your table.

    Writes the model (safetensors + JSON + ONNX), its metrics, the re-verification of its
    guarantees and a report. Exit code 1 if a guarantee fails its check, 2 on bad input.
    """
    from robusthep.report.toml import dumps_toml
    from robusthep.studies.config import read_toml
    from robusthep.user import TrainConfig, train_model

    options: dict[str, Any] = {
        "target": target,
        "features": _names(features),
        "weights": weights,
        "task": task,
        "increasing": _names(increasing),
        "decreasing": _names(decreasing),
        "lipschitz": lipschitz,
        "hidden": hidden,
        "decorrelate": decorrelate,
        "method": method,
        "lam": lam,
        "val": val,
        "seed": seed,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "patience": patience,
    }
    try:
        if hidden is not None:
            options["hidden"] = [_width(width) for width in _names(hidden) or []]
        values = read_toml(config) if config is not None else {}
        values.update({key: value for key, value in options.items() if value is not None})
        source = f"{config} and the options" if config is not None else "the options"
        settings = TrainConfig.from_mapping(values, source=source)
        if print_config:
            typer.echo(dumps_toml(settings.model_dump(mode="json", exclude_none=True)), nl=False)
            return
        torch.set_num_threads(threads)
        trained = train_model(
            data,
            settings,
            output,
            tree=tree,
            progress=progress,
            log=lambda message: typer.secho(message, fg=typer.colors.CYAN, err=True),
            command=f"robusthep train {data} --config {Path(output or '<folder>') / 'config.toml'}"
            + (f" --tree {tree}" if tree else ""),
        )
    except RobustHEPError as error:
        raise _fail(error) from None
    metrics = ", ".join(
        f"{name} {entry['value']:.4g}"
        for name, entry in trained.results["metrics"].items()
        if entry is not None
    )
    typer.echo(f"validation: {metrics}")
    typer.echo(f"wrote {trained.path}/ (report: {trained.path / 'report.html'})")
    if not trained.check.passed:
        typer.secho(
            "guarantee check FAILED: " + "; ".join(trained.check.problems),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


def _width(text: str) -> int:
    from robusthep.errors import ConfigError

    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"--hidden takes integers like 64,64, got {text!r}") from None


@app.command(
    epilog=epilog(
        "robusthep predict runs/tagger jets_2025.parquet -o jets_2025_scored.parquet "
        "--column tagger"
    )
)
def predict(
    model: Annotated[Path, typer.Argument(help="A model folder written by robusthep train.")],
    data: Annotated[Path, typer.Argument(help="A .parquet, .csv or .root file, or a dataset.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The file to write (format from its suffix; a folder: a dataset).",
        ),
    ],
    column: Annotated[str, typer.Option("--column", help="The new column's name.")] = "score",
    tree: _Tree = None,
) -> None:
    """Add the model's output as a column to a copy of DATA."""
    from robusthep.data.table import Table, read_table, write_table
    from robusthep.errors import DataError
    from robusthep.user import predict as predict_scores

    try:
        table = read_table(data, tree=tree)
        if column in table.columns:
            raise DataError(
                f"{table.describe()} already has a column {column!r}; choose another with --column"
            )
        scores = predict_scores(model, table)
        columns = {**table.columns, column: scores}
        written = write_table(
            Table(columns, table.path, table.format, table.tree), output, tree=table.tree
        )
    except RobustHEPError as error:
        raise _fail(error) from None
    typer.echo(f"wrote {len(scores)} rows with column {column!r} to {written}")


@app.command(
    epilog=epilog("robusthep verify runs/tagger", "robusthep verify runs/tagger jets.parquet")
)
def verify(
    model: Annotated[Path, typer.Argument(help="A model folder written by robusthep train.")],
    data: Annotated[
        Path | None,
        typer.Argument(help="Rows to start the searches from (default: the training box)."),
    ] = None,
    tree: _Tree = None,
    pairs: Annotated[int | None, typer.Option("--pairs", help="Random pairs per check.")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Adversarial search steps.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the searches.")] = 0,
) -> None:
    """Re-check a model's guarantees on its saved weights and its ONNX export.

    Exit code 0 when every guarantee holds, 1 when one fails, 2 on a broken model folder.
    """
    from robusthep.user import verify_model

    try:
        check = verify_model(model, data, tree=tree, pairs=pairs, steps=steps, seed=seed)
    except RobustHEPError as error:
        raise _fail(error) from None
    monotonic = [f"{n} increasing" for n in check.increasing]
    monotonic += [f"{n} decreasing" for n in check.decreasing]
    typer.echo(f"monotonic: {', '.join(monotonic) or 'none claimed'}")
    typer.echo(
        f"certified Lipschitz bound (l1 -> linf): {check.lipschitz_recomputed:.6g} recomputed, "
        f"{check.lipschitz_recorded:.6g} recorded"
    )
    typer.echo(f"largest |torch - ONNX| (relative): {check.max_difference:.3g}")
    for form, audit in check.audits.items():
        typer.echo(
            f"{form}: {audit['violations']} violations in {audit['points']} evaluations "
            f"(largest Lipschitz ratio {audit['max_lipschitz_ratio']:.4g})"
        )
    if not check.passed:
        typer.secho("FAILED: " + "; ".join(check.problems), fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo("all guarantees hold")
