"""Training a guaranteed classifier or regressor on the user's own table: :func:`train_model`."""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robusthep.data.table import Table, read_table
from robusthep.errors import DataError
from robusthep.io import export_onnx, save_model
from robusthep.losses import (
    AdversarialPivot,
    MixtureDensityNetwork,
    decorrelation_loss,
    weighted_bce,
)
from robusthep.nn import MonotonicWrapper, Standardize, lipschitz_bound, lipschitz_mlp
from robusthep.report import RunFolder
from robusthep.train import TrainResult, fit
from robusthep.user.config import TrainConfig
from robusthep.user.model_folder import ModelFolder
from robusthep.user.report import evaluate, write_training_report
from robusthep.user.verification import ModelCheck, verify_model

__all__ = ["TrainedModel", "train_model"]

Log = Callable[[str], None]
Batch = tuple[torch.Tensor, ...]

# MoDe bins the background of a batch in 32 mass bins; a shorter batch (the last of an
# epoch) counts its classification loss only.
_LEAST_BACKGROUND = 32


def _silent(message: str) -> None:
    """Discard a progress message."""


@dataclass(frozen=True)
class TrainedModel:
    """What :func:`train_model` returns.

    Attributes:
        path: the model folder (see :class:`~robusthep.user.ModelFolder`).
        results: the contents of its ``results.json``: metrics, guarantees, the check.
        check: the re-verification of the guarantees on the saved and exported model.
    """

    path: Path
    results: dict[str, Any]
    check: ModelCheck


@dataclass(frozen=True)
class _Arrays:
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    z: np.ndarray | None

    def rows(self, index: np.ndarray) -> "_Arrays":
        return _Arrays(
            self.x[index], self.y[index], self.w[index], None if self.z is None else self.z[index]
        )

    def tensors(self, y_mean: float = 0.0, y_scale: float = 1.0) -> Batch:
        w = self.w / self.w.mean()
        tensors = [self.x, (self.y - y_mean) / y_scale, w] + ([] if self.z is None else [self.z])
        return tuple(torch.as_tensor(t, dtype=torch.float32) for t in tensors)


def train_model(
    data: str | os.PathLike | Table | Mapping[str, Any],
    config: TrainConfig,
    output: str | os.PathLike | None = None,
    *,
    tree: str | None = None,
    progress: bool = False,
    report: bool = True,
    log: Log = _silent,
    command: str | None = None,
) -> TrainedModel:
    """Train a Lipschitz (and optionally monotonic, decorrelated) network on a table.

    The rows are split at random (seeded) into training and validation parts; features are
    standardised on the training part; the network is a λ-Lipschitz GroupSort MLP, wrapped
    to be monotonic in the chosen features. A classifier minimises weighted binary
    cross-entropy, plus λ_d × MoDe or DisCo of its output against the protected column
    on background, or the loss of an adversary predicting the protected column (learning
    to pivot); a regressor minimises weighted squared error. The weights of the epoch of
    lowest validation loss are kept. The model is saved (safetensors + JSON), exported to
    ONNX, and its guarantees are re-verified on both forms (:func:`verify_model`).

    Arguments:
        data: a Parquet, CSV or ROOT file, a robusthep dataset, a :class:`Table`, or a
            mapping column name → array.
        config: what to train.
        output: the model folder; ``runs/train-<time>/`` when None.
        tree: the TTree of a ROOT file holding several.
        progress: show the trainer's progress bar.
        report: draw the figures and write ``report.html`` (a few seconds).
        log: called with a line saying what runs now.
        command: the command that reproduces the run, shown in the report.

    Returns:
        A :class:`TrainedModel`.

    Raises:
        DataError: a missing column (the columns there are are listed), a non-numeric
            feature, NaN in the features (how many and where), a classifier target that
            is not 0/1 or holds one class only, a constant feature, too few rows.

    Example:
        >>> import tempfile, numpy as np
        >>> rng = np.random.default_rng(0)
        >>> pt = rng.exponential(50, 400)
        >>> table = {"pt": pt, "chi2": rng.chisquare(3, 400),
        ...          "label": (rng.random(400) < pt / (pt + 50)) * 1.0}
        >>> config = TrainConfig.create(target="label", features=["pt", "chi2"],
        ...                             increasing=["pt"], hidden=(8,), epochs=3,
        ...                             audit_pairs=32, audit_steps=2)
        >>> model = train_model(table, config, tempfile.mkdtemp(), report=False)
        >>> model.check.passed, sorted(model.results["metrics"])
        (True, ['R50', 'auc'])

    References:
        Kitouni, Nolte, Williams, "Expressive Monotonic Neural Networks", ICLR 2023,
        arXiv:2307.07512; MoDe arXiv:2010.09745; DisCo arXiv:2001.05310; learning to
        pivot arXiv:1611.01046.
    """
    table = _table(data, config, tree)
    arrays = _arrays(table, config)
    train, validation = _split(arrays, config)
    folder = RunFolder.create("train", output)
    folder.write_config(config.model_dump(mode="json"))
    log(f"train: {len(train.y)} training rows, {len(validation.y)} validation rows")
    y_mean, y_scale = (
        (float(train.y.mean()), float(train.y.std())) if config.task == "regress" else (0.0, 1.0)
    )
    if config.task == "regress" and not y_scale > 0:
        raise DataError(f"the target {config.target!r} is constant in the training part")
    network = _network(train.x, config)
    history = _fit(network, train, validation, config, y_mean, y_scale, progress)
    model = _finish(network, config, y_mean, y_scale)
    metadata = _metadata(model, train, config, table)
    model_folder = ModelFolder(folder.path)
    save_model(
        model,
        model_folder.weights,
        feature_names=list(config.features),
        metadata=metadata,
        overwrite=True,
    )
    export_onnx(model, model_folder.onnx, in_features=len(config.features))
    log("train: re-verifying the guarantees on the saved model and the ONNX export")
    check = verify_model(model_folder, validation.x, seed=config.seed)
    outputs = model_folder.outputs(validation.x)
    results = evaluate(
        outputs, validation.y, validation.w, validation.z, config, history, metadata, check
    )
    folder.write_results(results)
    if report:
        write_training_report(folder, config, results, outputs, validation, history, command)
    return TrainedModel(path=folder.path, results=results, check=check)


def _table(
    data: str | os.PathLike | Table | Mapping[str, Any], config: TrainConfig, tree: str | None
) -> Table:
    wanted = [config.target, *config.features]
    wanted += [name for name in (config.weights, config.decorrelate) if name is not None]
    if isinstance(data, Table):
        return data
    if isinstance(data, Mapping):
        return Table.from_columns(data)
    return read_table(data, columns=list(dict.fromkeys(wanted)), tree=tree)


def _arrays(table: Table, config: TrainConfig) -> _Arrays:
    x = table.numeric(config.features)
    y = table.numeric([config.target], role="target")[:, 0]
    if config.task == "classify":
        values = np.unique(y)
        other = values[(values != 0) & (values != 1)]
        if other.size:
            raise DataError(
                f"the target {config.target!r} of a classifier must hold 0 (background) and 1 "
                f"(signal); {table.describe()} also has {other[:5].tolist()}"
                f"{' …' if other.size > 5 else ''}; use --task regress for a number to predict"
            )
        if values.size < 2:
            raise DataError(
                f"the target {config.target!r} of {table.describe()} holds only "
                f"{'signal (1)' if values[0] == 1 else 'background (0)'}; a classifier needs both"
            )
    w = np.ones(len(y))
    if config.weights is not None:
        w = table.numeric([config.weights], role="weight")[:, 0]
        if not w.sum() > 0:
            raise DataError(f"the weights {config.weights!r} sum to {w.sum():g}; they must be > 0")
    z = None
    if config.decorrelate is not None:
        z = table.numeric([config.decorrelate], role="protected")[:, 0]
    return _Arrays(x, y, w, z)


def _split(arrays: _Arrays, config: TrainConfig) -> tuple[_Arrays, _Arrays]:
    rows = len(arrays.y)
    order = np.random.default_rng(config.seed).permutation(rows)
    n_val = int(round(config.val * rows))
    if n_val < 2 or rows - n_val < 2:
        raise DataError(
            f"{rows} rows are too few to split {config.val:.0%} for validation: both parts "
            "need at least 2 rows"
        )
    train, validation = arrays.rows(order[n_val:]), arrays.rows(order[:n_val])
    if config.task == "classify":
        for name, part in (("training", train), ("validation", validation)):
            if np.unique(part.y).size < 2:
                raise DataError(
                    f"the {name} part holds one class only; give more rows of each class or "
                    "change --val"
                )
    scale = train.x.std(axis=0)
    constant = [name for name, s in zip(config.features, scale, strict=True) if not s > 0]
    if constant:
        raise DataError(f"the features {constant} are constant in the training part: drop them")
    return train, validation


def _network(x: np.ndarray, config: TrainConfig) -> nn.Sequential:
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        core: nn.Module = lipschitz_mlp(
            len(config.features),
            hidden=config.hidden,
            lipschitz=config.lipschitz,
            group_size=config.group_size,
        )
    if config.monotonic:
        core = MonotonicWrapper(
            core,
            increasing=list(config.increasing),
            decreasing=list(config.decreasing),
            feature_names=list(config.features),
        )
    return nn.Sequential(Standardize.fit(torch.as_tensor(x, dtype=torch.float32)), core)


def _loss(
    config: TrainConfig, train: _Arrays
) -> Callable[[nn.Module, Batch], torch.Tensor] | AdversarialPivot:
    if config.task == "regress":

        def squared_error(model: nn.Module, batch: Batch) -> torch.Tensor:
            x, y, w = batch[:3]
            return (w * (model(x).reshape(-1) - y) ** 2).sum() / w.sum()

        return squared_error
    if config.decorrelate is None or config.lam == 0:
        return lambda model, batch: weighted_bce(model, batch)[0]
    if config.method == "adversary":
        z = train.z
        adversary = MixtureDensityNetwork(
            1, components=5, loc=float(z.mean()), scale=float(z.std())
        )
        return AdversarialPivot(adversary, strength=config.lam, adversary_steps=5)
    if config.method == "disco":
        penalty = decorrelation_loss("disco", strength=config.lam)
    else:
        penalty = decorrelation_loss("mode", strength=config.lam, order=int(config.method[-1]))

    def decorrelated(model: nn.Module, batch: Batch) -> torch.Tensor:
        loss, scores = weighted_bce(model, batch)
        y, w, z = batch[1], batch[2], batch[3]
        if int((y == 0).sum()) < _LEAST_BACKGROUND:
            return loss
        return loss + penalty(scores.reshape(-1), z, y, w)

    return decorrelated


def _fit(
    network: nn.Module,
    train: _Arrays,
    validation: _Arrays,
    config: TrainConfig,
    y_mean: float,
    y_scale: float,
    progress: bool,
) -> TrainResult:
    with torch.random.fork_rng():
        torch.manual_seed(config.seed)
        return fit(
            network,
            _loss(config, train),
            train=train.tensors(y_mean, y_scale),
            validation=validation.tensors(y_mean, y_scale),
            epochs=config.epochs,
            batch_size=config.batch_size,
            lr=config.lr,
            patience=config.patience,
            seed=config.seed,
            progress=progress,
        )


def _finish(
    network: nn.Sequential, config: TrainConfig, y_mean: float, y_scale: float
) -> nn.Sequential:
    """The network with its output head: a probability, or the target in its own units."""
    if config.task == "classify":
        head: nn.Module = nn.Sigmoid()
    else:
        head = nn.Linear(1, 1)
        with torch.no_grad():
            head.weight.fill_(y_scale)
            head.bias.fill_(y_mean)
        head.requires_grad_(False)
    return nn.Sequential(*network, head).eval()


def _metadata(
    model: nn.Module, train: _Arrays, config: TrainConfig, table: Table
) -> dict[str, Any]:
    return {
        "task": config.task,
        "target": config.target,
        "features": list(config.features),
        "increasing": list(config.increasing),
        "decreasing": list(config.decreasing),
        "lipschitz": lipschitz_bound(model, input_norm="one", output_norm="inf"),
        "lipschitz_standardized": config.lipschitz,
        "domain": {
            "low": train.x.min(axis=0).tolist(),
            "high": train.x.max(axis=0).tolist(),
        },
        "data": table.describe(),
        "config": config.model_dump(mode="json"),
    }
