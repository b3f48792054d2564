"""The metrics, figures and report of a model trained by :func:`~robusthep.user.train_model`."""

import math
from typing import Any

import numpy as np

from robusthep.audit import auc, background_rejection, roc_curve, sculpted_histograms
from robusthep.audit.sculpting import inverse_jsd
from robusthep.errors import DataError
from robusthep.report import RunFolder, Section, figure, format_quantity, quantity
from robusthep.train import TrainResult
from robusthep.user.config import TrainConfig
from robusthep.user.verification import ModelCheck

__all__ = ["evaluate", "protected_bins", "write_training_report"]

_EFFICIENCIES = (0.5, 0.2, 0.1)


def protected_bins(z: np.ndarray, bins: int = 20) -> np.ndarray:
    """Bin edges for the protected variable: ``bins`` equal bins over its 1–99 % quantiles.

    Example:
        >>> protected_bins(np.arange(101.0), bins=4).tolist()
        [1.0, 25.5, 50.0, 74.5, 99.0]
    """
    low, high = np.quantile(z, [0.01, 0.99])
    if not high > low:
        low, high = float(np.min(z)), float(np.max(z)) + 1.0
    return np.linspace(low, high, bins + 1)


def _finite(value: float, unit: str, **extra: Any) -> dict[str, Any] | None:
    return quantity(float(value), unit, **extra) if math.isfinite(value) else None


def evaluate(
    outputs: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    z: np.ndarray | None,
    config: TrainConfig,
    history: TrainResult,
    metadata: dict[str, Any],
    check: ModelCheck,
) -> dict[str, Any]:
    """The results of a training, as ``results.json`` holds them (every number with a unit).

    Metrics are measured on the validation part with its weights: a classifier's AUC and
    R50 (1 / background efficiency at 50 % signal efficiency), and with a protected column
    1/JSD50 (Jensen–Shannon divergence of the background's protected-variable spectra
    passing and failing that cut, 20 bins over its 1–99 % quantiles); a regressor's RMSE
    and mean absolute error, beside the RMSE of always predicting the mean.
    """
    if config.task == "classify":
        metrics: dict[str, Any] = {
            "auc": quantity(auc(outputs, y, w), "1"),
            "R50": _finite(
                background_rejection(outputs, y, w, efficiency=0.5),
                "1",
                note="1 / background efficiency at 50% signal efficiency; null: none passes",
            ),
        }
        if z is not None:
            try:
                value = inverse_jsd(
                    outputs, y, z, w, efficiency=0.5, bins=protected_bins(z[y == 0])
                )
            except DataError:
                value = math.inf
            metrics["inverse_jsd50"] = _finite(
                value, "1", note=f"null: infinite (no sculpting of {config.decorrelate})"
            )
    else:
        residual = outputs - y
        weights = w / w.sum()
        mean = float(np.sum(weights * y))
        unit = f"unit of {config.target}"
        metrics = {
            "rmse": quantity(float(np.sqrt(np.sum(weights * residual**2))), unit),
            "mae": quantity(float(np.sum(weights * np.abs(residual))), unit),
            "rmse_of_the_mean": quantity(
                float(np.sqrt(np.sum(weights * (y - mean) ** 2))),
                unit,
                note="always predicting the weighted mean: the baseline",
            ),
        }
    audits = check.audits
    return {
        "command": "train",
        "task": config.task,
        "target": config.target,
        "features": list(config.features),
        "data": metadata["data"],
        "rows": {
            "validation": quantity(len(y), "count"),
        },
        "metrics": metrics,
        "guarantees": {
            "increasing": list(config.increasing),
            "decreasing": list(config.decreasing),
            "lipschitz": quantity(
                metadata["lipschitz"],
                "output per feature unit",
                norm="l1 -> linf, raw feature units, the whole saved model",
            ),
            "lipschitz_standardized": quantity(
                config.lipschitz, "output per standard deviation", note="the network's lambda"
            ),
        },
        "verification": {
            "passed": check.passed,
            "problems": check.problems,
            "max_difference_onnx": quantity(check.max_difference, "1", note="relative"),
            "violations": {
                form: quantity(audit["violations"], "count", points=audit["points"])
                for form, audit in audits.items()
            },
            "max_lipschitz_ratio": {
                form: quantity(audit["max_lipschitz_ratio"], "output per feature unit")
                for form, audit in audits.items()
            },
        },
        "training": {
            "epochs": quantity(len(history.history), "count"),
            "best_epoch": quantity(history.best_epoch or len(history.history), "count"),
            "train_loss": quantity([row["train_loss"] for row in history.history], "1"),
            "val_loss": quantity([row["val_loss"] for row in history.history], "1"),
        },
    }


def write_training_report(
    folder: RunFolder,
    config: TrainConfig,
    results: dict[str, Any],
    outputs: np.ndarray,
    validation: Any,
    history: TrainResult,
    command: str | None,
) -> None:
    """Write the figures (ROC, output distributions, sculpting, loss) and ``report.html``."""
    y, w, z = validation.y, validation.w, validation.z
    figures = [_loss_figure(folder, results)]
    if config.task == "classify":
        figures += [_roc_figure(folder, outputs, y, w), _score_figure(folder, outputs, y, w)]
        if z is not None:
            figures.append(_sculpting_figure(folder, config, outputs, y, w, z))
    else:
        figures += [_regression_figure(folder, config, outputs, y)]
    verification = results["verification"]
    guarantees = results["guarantees"]
    numbers = {name: entry for name, entry in results["metrics"].items() if entry is not None}
    checks = {
        "certified Lipschitz bound (l1 -> linf, raw units)": guarantees["lipschitz"],
        **{f"violations found, {form}": q for form, q in verification["violations"].items()},
        "largest |torch − ONNX| (relative)": verification["max_difference_onnx"],
    }
    monotonic = ", ".join(
        [f"{name} ↑" for name in config.increasing] + [f"{name} ↓" for name in config.decreasing]
    )
    status = (
        "all guarantees hold"
        if verification["passed"]
        else "FAILED: " + "; ".join(verification["problems"])
    )
    folder.write_report(
        title=f"robusthep train: {config.task} {config.target} from {len(config.features)} "
        "features",
        sections=[
            Section(
                "Metrics on the validation part",
                text=f"Data: {results['data']}. Features: {', '.join(config.features)}. "
                f"Validation rows: {format_quantity(results['rows']['validation'])}.",
                numbers=numbers,
                figures=figures[1:],
            ),
            Section(
                "Guarantees, re-verified on the saved model and its ONNX export",
                text=f"Monotonic: {monotonic or 'none'}. λ = {config.lipschitz:g} per standard "
                f"deviation of each feature. Check: {status}.",
                numbers=checks,
            ),
            Section("Training", numbers={}, figures=figures[:1]),
        ],
        command=command,
    )


def _loss_figure(folder: RunFolder, results: dict[str, Any]) -> str:
    path = folder.figure_path("loss")
    with figure(path) as (_, ax):
        epochs = np.arange(1, len(results["training"]["train_loss"]["value"]) + 1)
        ax.plot(epochs, results["training"]["train_loss"]["value"], label="training")
        ax.plot(epochs, results["training"]["val_loss"]["value"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
    return folder.relative(path)


def _roc_figure(folder: RunFolder, outputs: np.ndarray, y: np.ndarray, w: np.ndarray) -> str:
    curve = roc_curve(outputs, y, w)
    path = folder.figure_path("roc")
    with figure(path) as (_, ax):
        keep = curve.background_efficiency > 0
        ax.plot(curve.signal_efficiency[keep], 1 / curve.background_efficiency[keep])
        ax.set_yscale("log")
        ax.set_xlabel("signal efficiency")
        ax.set_ylabel("background rejection")
        ax.set_title(f"AUC = {auc(outputs, y, w):.3f}", fontsize=12)
    return folder.relative(path)


def _score_figure(folder: RunFolder, outputs: np.ndarray, y: np.ndarray, w: np.ndarray) -> str:
    path = folder.figure_path("scores")
    edges = np.linspace(0, 1, 41)
    with figure(path) as (_, ax):
        for label, name in ((1, "signal"), (0, "background")):
            chosen = y == label
            ax.hist(
                outputs[chosen],
                bins=edges,
                weights=w[chosen],
                density=True,
                histtype="step",
                label=name,
                lw=2,
            )
        ax.set_xlabel("model output (probability of signal)")
        ax.set_ylabel("normalised")
        ax.legend()
    return folder.relative(path)


def _sculpting_figure(
    folder: RunFolder,
    config: TrainConfig,
    outputs: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    z: np.ndarray,
) -> str:
    edges = protected_bins(z[y == 0])
    centres = (edges[1:] + edges[:-1]) / 2
    path = folder.figure_path("sculpting")
    with figure(path) as (_, ax):
        background = y == 0
        inclusive, _ = np.histogram(z[background], bins=edges, weights=w[background])
        ax.step(
            centres, inclusive / inclusive.sum(), where="mid", color="black", label="all background"
        )
        for efficiency in _EFFICIENCIES:
            try:
                passing, _ = sculpted_histograms(
                    outputs, y, z, w, efficiency=efficiency, bins=edges
                )
            except DataError:
                continue
            ax.step(centres, passing, where="mid", label=f"passing ε_sig = {efficiency:.0%}")
        ax.set_xlabel(config.decorrelate)
        ax.set_ylabel("background, normalised")
        title = f"{config.method}, λ = {config.lam:g}" if config.lam else "no penalty (λ = 0)"
        ax.set_title(title, fontsize=12)
        ax.legend(fontsize=10)
    return folder.relative(path)


def _regression_figure(
    folder: RunFolder, config: TrainConfig, outputs: np.ndarray, y: np.ndarray
) -> str:
    path = folder.figure_path("predictions")
    with figure(path, ncols=2, size=(12, 5)) as (_, axes):
        axes[0].scatter(y, outputs, s=4, alpha=0.5)
        low, high = float(min(y.min(), outputs.min())), float(max(y.max(), outputs.max()))
        axes[0].plot([low, high], [low, high], color="gray", ls="--")
        axes[0].set_xlabel(f"true {config.target}")
        axes[0].set_ylabel(f"predicted {config.target}")
        edges = np.linspace(low, high, 41)
        axes[1].hist(y, bins=edges, histtype="step", lw=2, label="true")
        axes[1].hist(outputs, bins=edges, histtype="step", lw=2, label="predicted")
        axes[1].set_xlabel(config.target)
        axes[1].legend()
    return folder.relative(path)
