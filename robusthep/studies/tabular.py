"""The AutoMPG benchmark: a monotonic network beside an MLP and the reference package."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from robusthep.audit import verify
from robusthep.data import load_auto_mpg
from robusthep.errors import MissingDependencyError
from robusthep.report import RunFolder, Section, figure, format_quantity, quantity
from robusthep.studies._common import (
    count_violations,
    monotonic_mlp,
    mse_loss,
    parameter_count,
    relu_mlp,
    seeded,
)
from robusthep.studies.config import StudyConfig
from robusthep.train import StepInfo, fit

__all__ = ["MODELS", "TabularConfig", "run_tabular"]

ModelName = Literal["monotonic", "mlp", "monotonicnetworks"]

#: The models the benchmark can compare, and how the report names them.
MODELS: dict[str, str] = {
    "monotonic": "robusthep monotonic NN",
    "mlp": "unconstrained ReLU MLP",
    "monotonicnetworks": "monotonicnetworks 1.5.1",
}

#: Published AutoMPG test MSEs (mpg²), as restated by later papers; LMN's is test-selected.
LITERATURE = {
    "LMN (Kitouni et al. 2023)": (7.58, 1.20),
    "SMNN": (7.44, 1.20),
    "COMET": (8.81, 1.81),
    "Min-Max": (10.14, 1.54),
}

Log = Callable[[str], None]

_AXIS_LABELS = {
    "weight": "weight [lbs]",
    "displacement": "displacement [cu. in.]",
    "horsepower": "horsepower [hp]",
}


def _silent(message: str) -> None:
    """Discard a progress message."""


class TabularConfig(StudyConfig):
    """The configuration of ``robusthep bench-tabular`` (AutoMPG).

    λ bounds every |∂f/∂xᵢ| in standardised units (standard deviations of mpg per standard
    deviation of a feature); the wrapper adds λ·Σ sᵢxᵢ. Univariate slopes in these units
    are below 1, so λ = 2 leaves room without making the model stiff.

    Example:
        >>> TabularConfig.quick().seeds, TabularConfig().seeds
        (3, 10)
    """

    seed: int = 0
    seeds: int = Field(10, ge=1)
    epochs: int = Field(2000, ge=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    hidden: tuple[int, ...] = (8, 8)
    group_size: int = Field(2, ge=2)
    lipschitz: float = Field(2.0, gt=0)
    lr: float = Field(1e-2, gt=0)
    batch_size: int = Field(64, ge=1)
    decreasing: tuple[str, ...] = ("weight", "displacement", "horsepower")
    models: tuple[ModelName, ...] = ("monotonic", "mlp", "monotonicnetworks")
    grid_points: int = Field(51, ge=3)
    audit_pairs: int = Field(2048, ge=2)
    audit_steps: int = Field(30, ge=0)

    @classmethod
    def quick(cls) -> "TabularConfig":
        """3 seeds and 1000 epochs: the demo size."""
        return cls(seeds=3, epochs=1000)


@dataclass(frozen=True)
class _Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mpg_scale: float  # the standard deviation of mpg in the training part
    mpg_mean: float
    feature_mean: np.ndarray
    feature_scale: np.ndarray


def _split(features: np.ndarray, target: np.ndarray, config: TabularConfig, seed: int) -> _Split:
    order = np.random.default_rng(seed).permutation(len(target))
    n_test = round(config.test_fraction * len(target))
    test, training = order[:n_test], order[n_test:]
    n_val = round(config.validation_fraction * len(training))
    val, train = training[:n_val], training[n_val:]
    mean, scale = features[training].mean(axis=0), features[training].std(axis=0)
    y_mean, y_scale = target[training].mean(), target[training].std()

    def x(rows: np.ndarray) -> torch.Tensor:
        return torch.tensor((features[rows] - mean) / scale, dtype=torch.float32)

    def y(rows: np.ndarray) -> torch.Tensor:
        return torch.tensor((target[rows] - y_mean) / y_scale, dtype=torch.float32)[:, None]

    return _Split(
        x(train),
        y(train),
        x(val),
        y(val),
        x(test),
        y(test),
        float(y_scale),
        float(y_mean),
        mean,
        scale,
    )


def _reference_model(config: TabularConfig, signs: list[int]) -> nn.Module:
    try:
        import monotonicnetworks as lmn
    except ModuleNotFoundError as error:
        raise MissingDependencyError(
            "the 'monotonicnetworks' model needs the reference package: pip install "
            "monotonicnetworks==1.5.1 (or robusthep[reference]), or leave it out of models"
        ) from error
    widths = [len(signs), *config.hidden, 1]
    per_layer = config.lipschitz ** (1.0 / (len(widths) - 1))
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(widths, widths[1:], strict=False)):
        kind = "one-inf" if index == 0 else "inf"
        layers.append(lmn.LipschitzLinear(n_in, n_out, kind=kind, lipschitz_const=per_layer))
        if index < len(widths) - 2:
            # The reference GroupSort takes the number of groups, not their size.
            layers.append(lmn.GroupSort(n_out // config.group_size))
    return lmn.MonotonicWrapper(
        nn.Sequential(*layers), lipschitz_const=config.lipschitz, monotonic_constraints=signs
    )


def _builders(config: TabularConfig, names: tuple[str, ...]) -> dict[str, Callable[[], nn.Module]]:
    signs = [-1 if name in config.decreasing else 0 for name in names]
    builders: dict[str, Callable[[], nn.Module]] = {
        "monotonic": lambda: monotonic_mlp(
            names,
            hidden=config.hidden,
            lipschitz=config.lipschitz,
            group_size=config.group_size,
            decreasing=config.decreasing,
        ),
        "mlp": lambda: relu_mlp(len(names), config.hidden),
        "monotonicnetworks": lambda: _reference_model(config, signs),
    }
    return {name: builders[name] for name in config.models}


def _mse_mpg2(model: nn.Module, x: torch.Tensor, y: torch.Tensor, scale: float) -> float:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        value = float(((model(x) - y) ** 2).mean()) * scale**2
    model.train(was_training)
    return value


def _train_one(
    model: nn.Module, split: _Split, config: TabularConfig, seed: int, progress: bool
) -> dict[str, Any]:
    test_curve: list[float] = []

    def record_test_mse(info: StepInfo) -> None:
        # Only for the test-selected figure the paper quotes; never used to choose anything.
        if info.step_in_epoch == info.steps_per_epoch:
            test_curve.append(_mse_mpg2(model, split.x_test, split.y_test, split.mpg_scale))

    result = fit(
        model,
        mse_loss,
        train=(split.x_train, split.y_train),
        validation=(split.x_val, split.y_val),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=seed,
        progress=progress,
        callback=record_test_mse,
    )
    return {
        "test_mse": _mse_mpg2(model, split.x_test, split.y_test, split.mpg_scale),
        "test_mse_test_selected": min(test_curve),
        "best_epoch": result.best_epoch,
        "val_curve": [row["val_loss"] * split.mpg_scale**2 for row in result.history],
        "test_curve": test_curve,
    }


def _violations(
    model: nn.Module, split: _Split, config: TabularConfig, names: tuple[str, ...]
) -> dict[str, tuple[int, int]]:
    # Each test car, scanned along each decreasing feature over the training range ± 1 std.
    everything = torch.cat([split.x_train, split.x_val])
    counts = {}
    for feature in config.decreasing:
        index = names.index(feature)
        grid = torch.linspace(
            float(everything[:, index].min()) - 1,
            float(everything[:, index].max()) + 1,
            config.grid_points,
        )
        counts[feature] = count_violations(model, split.x_test, index, grid, sign=-1)
    return counts


def _audit_summary(seed_runs: list[dict[str, Any]], config: TabularConfig) -> dict[str, Any]:
    audits = [run["audit"] for run in seed_runs]
    total = sum(sum(a.monotonic_violations.values()) for a in audits)
    return {
        "violations_total": quantity(total, "count"),
        "method": "robusthep.audit.verify: random pairs, grid scans and a gradient search "
        "for wrong-way steps over the data's box widened by 10 %",
        "violations": {
            feature: quantity(
                sum(a.monotonic_violations[feature] for a in audits),
                "count",
                pairs=sum(a.monotonic_pairs for a in audits),
            )
            for feature in config.decreasing
        },
        "worst_wrong_way_step": quantity(
            max(max(a.worst_monotonic_step.values()) for a in audits),
            "std(mpg)",
            note="largest rise found along a decreasing feature; <= 0 means none",
        ),
    }


def _paired(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Split by split, how often the monotonic network beats each other model."""
    if "monotonic" not in runs:
        return {}
    ours = [run["test_mse"] for run in runs["monotonic"]]
    paired = {}
    for name, seed_runs in runs.items():
        if name == "monotonic":
            continue
        theirs = [run["test_mse"] for run in seed_runs]
        paired[f"monotonic_vs_{name}"] = {
            "splits_where_lower": quantity(
                sum(a < b for a, b in zip(ours, theirs, strict=True)), "count", of=len(ours)
            ),
            "mean_difference": quantity(
                float(np.mean(np.subtract(ours, theirs))),
                "mpg^2",
                std=float(np.std(np.subtract(ours, theirs))),
                note="validation-selected test MSE, monotonic minus the other, same split",
            ),
        }
    return paired


def _summary(values: list[float], unit: str) -> dict[str, Any]:
    return quantity(
        float(np.mean(values)),
        unit,
        std=float(np.std(values)),
        per_seed=[float(v) for v in values],
        n=len(values),
    )


def run_tabular(
    config: TabularConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Run the AutoMPG benchmark and write its results, figures and report into ``folder``.

    Protocol: the 392 complete rows; for each of ``seeds`` seeds a random split, 20 % test
    and 80 % training, of which 20 % is carved out for validation; features and mpg
    standardised with the training part's mean and standard deviation; each model trained
    with Adam (lr 10⁻², batch 64) for ``epochs`` epochs, keeping the epoch of lowest
    validation MSE. Its test MSE, in mpg², is the honest figure. The lowest test MSE over
    all epochs (how the LMN paper chose its 7.58) is reported beside it only to compare.
    Every model sees the same splits and seeds; the monotonic ones are then scanned along
    each decreasing feature for violations.

    Arguments:
        config: what to run.
        folder: the run folder.
        command: the command line that reproduces the run, shown in the report.
        progress: show the trainer's progress bars.
        log: called with a line saying what runs now.

    Returns:
        The results, as written to ``results.json``.

    Example:
        >>> import tempfile
        >>> tiny = TabularConfig(seeds=1, epochs=2, models=("monotonic",), grid_points=5,
        ...                      audit_pairs=64, audit_steps=2)
        >>> results = run_tabular(tiny, RunFolder(tempfile.mkdtemp()))
        >>> results["models"]["monotonic"]["violations_total"]["value"]
        0

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512; Quinlan, ICML 1993 (the Auto MPG data).
    """
    folder.write_config(config.model_dump(mode="json"))
    table = load_auto_mpg()
    names = tuple(table.feature_names)
    builders = _builders(config, names)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in builders}
    first_models: dict[str, nn.Module] = {}
    first_split = None
    for index in range(config.seeds):
        seed = config.seed + index
        split = _split(table.features, table.target, config, seed)
        first_split = first_split or split
        for name, build in builders.items():
            log(f"bench-tabular: {MODELS[name]}, split {index + 1}/{config.seeds}")
            model = seeded(build, seed)
            run = _train_one(model, split, config, seed, progress)
            run["violations"] = _violations(model, split, config, names)
            run["audit"] = verify(
                model,
                torch.cat([split.x_train, split.x_val, split.x_test]),
                decreasing=list(config.decreasing),
                feature_names=list(names),
                pairs=config.audit_pairs,
                steps=config.audit_steps,
                seed=seed,
            )
            run["parameters"] = parameter_count(model)
            runs[name].append(run)
            first_models.setdefault(name, model)

    models: dict[str, Any] = {}
    for name, seed_runs in runs.items():
        per_feature = {
            feature: quantity(
                sum(run["violations"][feature][0] for run in seed_runs),
                "count",
                steps=sum(run["violations"][feature][1] for run in seed_runs),
            )
            for feature in config.decreasing
        }
        models[name] = {
            "label": MODELS[name],
            "test_mse": _summary([run["test_mse"] for run in seed_runs], "mpg^2"),
            "test_mse_test_selected": _summary(
                [run["test_mse_test_selected"] for run in seed_runs], "mpg^2"
            ),
            "best_epoch": quantity(
                [run["best_epoch"] for run in seed_runs],
                "count",
                note="epoch of lowest validation MSE, per seed",
            ),
            "parameters": quantity(seed_runs[0]["parameters"], "count"),
            "violations": per_feature,
            "violations_total": quantity(sum(v["value"] for v in per_feature.values()), "count"),
            "audit": _audit_summary(seed_runs, config),
        }
    results = {
        "study": "bench-tabular",
        "dataset": "Auto MPG (UCI), 392 complete rows, from the vega_datasets wheel",
        "protocol": (
            f"{config.seeds} seeds, each a random split: {config.test_fraction:.0%} test, the "
            f"rest training, of which {config.validation_fraction:.0%} is validation; features "
            "and mpg standardised on the training part; Adam lr "
            f"{config.lr:g}, batch {config.batch_size}, {config.epochs} epochs, the epoch of "
            "lowest validation MSE kept (test_mse). test_mse_test_selected is the lowest test "
            "MSE over epochs, as the LMN paper chose it: for comparison only. Monotonic "
            f"networks: hidden widths {list(config.hidden)}, first layer one-inf, then inf, "
            f"GroupSort (group size {config.group_size}), lambda {config.lipschitz:g} in "
            f"standardised units, decreasing in {', '.join(config.decreasing)}. The MLP: the "
            "same widths with ReLU. Violations: each test car scanned along each decreasing "
            f"feature on a {config.grid_points}-point grid over the training range +- 1 std."
        ),
        "lipschitz": quantity(config.lipschitz, "std(mpg)/std(feature)"),
        "models": models,
        "paired": _paired(runs),
        "literature": {
            name: quantity(value, "mpg^2", std=std, note="as restated by later papers")
            for name, (value, std) in LITERATURE.items()
        },
    }
    folder.write_results(results)
    figures = _figures(folder, config, runs, first_models, first_split, names)
    _write_report(folder, config, results, figures, command)
    return results


def _figures(
    folder: RunFolder,
    config: TabularConfig,
    runs: dict[str, list[dict[str, Any]]],
    first_models: dict[str, nn.Module],
    split: _Split,
    names: tuple[str, ...],
) -> list[str]:
    colors = {"monotonic": "tab:blue", "mlp": "tab:red", "monotonicnetworks": "tab:green"}
    scores = folder.figure_path("autompg_test_mse")
    with figure(scores, size=(7, 5)) as (_, ax):
        for position, (name, seed_runs) in enumerate(runs.items()):
            honest = [run["test_mse"] for run in seed_runs]
            selected = [run["test_mse_test_selected"] for run in seed_runs]
            ax.scatter([position - 0.1] * len(honest), honest, color=colors[name], alpha=0.5)
            ax.errorbar(
                position - 0.1,
                np.mean(honest),
                yerr=np.std(honest),
                fmt="o",
                color=colors[name],
                capsize=4,
                ms=9,
            )
            ax.errorbar(
                position + 0.1,
                np.mean(selected),
                yerr=np.std(selected),
                fmt="s",
                color=colors[name],
                capsize=4,
                ms=7,
                mfc="white",
            )
        ax.axhline(7.58, color="gray", ls="--", label="LMN paper, test-selected (7.58)")
        ax.set_xticks(range(len(runs)), [MODELS[name] for name in runs], fontsize=10)
        ax.set_ylabel("test MSE [mpg²]")
        ax.set_title("filled: validation-selected · open: test-selected", fontsize=11)
        ax.legend(fontsize=10)
    curves = folder.figure_path("autompg_curves")
    with figure(curves, size=(7, 5)) as (_, ax):
        for name, seed_runs in runs.items():
            ax.plot(seed_runs[0]["val_curve"], color=colors[name], alpha=0.5, ls=":")
            ax.plot(seed_runs[0]["test_curve"], color=colors[name], label=MODELS[name])
        ax.set_xlabel("epoch")
        ax.set_ylabel("MSE [mpg²] (solid: test, dotted: validation)")
        ax.set_yscale("log")
        ax.legend(fontsize=10)
    dependence = folder.figure_path("autompg_dependence")
    features = list(config.decreasing)
    cars = split.x_test[:5]
    with figure(
        dependence,
        ncols=len(first_models),
        nrows=len(features),
        size=(4.5 * len(first_models), 3.8 * len(features)),
    ) as (_, axes):
        axes = np.asarray(axes).reshape(len(features), len(first_models))
        for row, feature in enumerate(features):
            index = names.index(feature)
            low, high = float(split.x_test[:, index].min()), float(split.x_test[:, index].max())
            grid = torch.linspace(low - 1, high + 1, 200)
            physical = grid.numpy() * split.feature_scale[index] + split.feature_mean[index]
            for ax, (name, model) in zip(axes[row], first_models.items(), strict=True):
                model.eval()
                for car in cars:
                    rows = car.repeat(len(grid), 1)
                    rows[:, index] = grid
                    with torch.no_grad():
                        mpg = model(rows).reshape(-1).numpy() * split.mpg_scale + split.mpg_mean
                    ax.plot(physical, mpg, color=colors[name], alpha=0.7)
                ax.set_title(MODELS[name], fontsize=11)
                ax.set_xlabel(_AXIS_LABELS.get(feature, feature), fontsize=12)
                ax.set_ylabel("predicted mpg", fontsize=12)
    return [folder.relative(path) for path in (scores, curves, dependence)]


def _paired_numbers(paired: dict[str, Any]) -> dict[str, Any]:
    numbers = {}
    for key, entry in paired.items():
        other = MODELS[key.removeprefix("monotonic_vs_")]
        lower = entry["splits_where_lower"]
        numbers[f"splits where the monotonic NN beats the {other} (of {lower['of']})"] = lower
        numbers[f"mean paired difference, monotonic NN − {other}"] = entry["mean_difference"]
    return numbers


def _write_report(
    folder: RunFolder,
    config: TabularConfig,
    results: dict[str, Any],
    figures: list[str],
    command: str | None,
) -> None:
    header = [
        "model",
        "test MSE (val.-selected)",
        "test MSE (test-selected)",
        "parameters",
        "violations (grid scan)",
        "violations (audit.verify)",
    ]
    rows = [
        [
            entry["label"],
            format_quantity(entry["test_mse"]),
            format_quantity(entry["test_mse_test_selected"]),
            format_quantity(entry["parameters"]),
            format_quantity(entry["violations_total"]),
            format_quantity(entry["audit"]["violations_total"]),
        ]
        for entry in results["models"].values()
    ]
    rows += [
        [f"{name} (published)", "", format_quantity(stored), "", "", ""]
        for name, stored in results["literature"].items()
    ]
    folder.write_report(
        title="robusthep bench-tabular: AutoMPG, monotonic in weight, displacement, horsepower",
        sections=[
            Section("Protocol", text=results["protocol"]),
            Section(
                "Test MSE, parameters and monotonicity",
                text="Mean ± standard deviation over the splits. The validation-selected "
                "figure is the honest one; the test-selected one is how the LMN paper chose "
                "its epoch and is shown only to compare with it. Violations count grid steps "
                "where a model's prediction rises along a feature it should decrease in.",
                table=(header, rows),
                numbers=_paired_numbers(results["paired"]),
                figures=figures[:2],
            ),
            Section(
                "Dependence on the decreasing features",
                text="Predicted mpg of five test cars as one feature alone is scanned over the "
                "test range ± 1 standard deviation (first split). The monotonic networks "
                "cannot rise along any of these features; the MLP can.",
                figures=figures[2:],
            ),
        ],
        command=command,
    )
