"""Decorrelation study: a tagger trained with each method and strength, compared by R50 and
1/JSD50 on any table of features, labels, weights and a mass column."""

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from robusthep.audit import DEFAULT_MASS_BINS, sculpted_histograms, tagger_metrics
from robusthep.errors import DataError
from robusthep.losses import AdversarialPivot, MixtureDensityNetwork, decorrelation_loss
from robusthep.nn.standardize import Standardize
from robusthep.train import fit

__all__ = ["DecorrelationStudyConfig", "pareto_front", "run_decorrelation_study"]

# MoDe's default number of mass bins: the fewest background events a penalised batch holds.
_LEAST_BACKGROUND = 32

Method = Literal["unconstrained", "disco", "mode", "adversary"]


class DecorrelationStudyConfig(BaseModel):
    """The settings of :func:`run_decorrelation_study`; unknown keys are an error.

    The defaults run in minutes on one core for ~10⁴ events.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    methods: tuple[Method, ...] = ("unconstrained", "disco", "mode", "adversary")
    strengths: dict[str, tuple[float, ...]] = Field(
        default_factory=lambda: {
            "disco": (1.0, 10.0, 100.0),
            "mode": (1.0, 10.0, 100.0),
            "adversary": (1.0, 10.0),
        }
    )
    mode_order: int = Field(0, ge=0, le=2)
    disco_unbiased: bool = False
    adversary_steps: int = Field(5, ge=1)
    hidden: tuple[int, ...] = (64, 64)
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(2048, ge=64)
    lr: float = Field(1e-3, gt=0)
    test_fraction: float = Field(0.3, gt=0, lt=1)
    efficiencies: tuple[float, ...] = (0.5, 0.2, 0.1)
    mass_bins: tuple[float, ...] = tuple(DEFAULT_MASS_BINS.tolist())
    bootstrap: int = Field(20, ge=0)
    baseline_features: dict[str, int] = Field(default_factory=dict)
    seed: int = 0


def run_decorrelation_study(
    features: Any,
    labels: Any,
    weights: Any,
    mass: Any,
    config: DecorrelationStudyConfig | None = None,
    *,
    map_fn: Callable[[Callable[[dict], dict], Iterable[dict]], Iterable[dict]] = map,
) -> dict[str, Any]:
    """Train one classifier per (method, λ) and measure AUC, R_ε and 1/JSD_ε on a test split.

    Every point trains the same network (an MLP on standardised features, seeded) with
    weighted BCE plus: nothing (``unconstrained``), λ·DisCo, λ·MoDe, or an adversary
    (``AdversarialPivot``, K steps a classifier step); the mass is a protected variable,
    never a feature. ``baseline_features`` adds untrained taggers, e.g. ``{"-tau21": 3}``
    scores events by column 3 (negate columns beforehand so that larger is more signal-like).

    Arguments:
        features: (N, F) feature matrix.
        labels: (N,) 1 signal, 0 background.
        weights: (N,) event weights.
        mass: (N,) the protected variable in GeV.
        config: the settings; defaults if None.
        map_fn: how the points are run, ``map`` or an executor's ``map`` (each point is a
            plain dict and the function is module-level, so both pickle).

    Returns:
        JSON-ready: ``points`` (method, strength, metrics, background mass histograms
        passing each working point), ``pareto`` (per method, the points not dominated in
        R50 and 1/JSD50), ``config``, ``events``. Infinite values and missing errors are
        None.
    """
    config = config or DecorrelationStudyConfig()
    data = _table(features, labels, weights, mass)
    train, test = _split(data, config.test_fraction, config.seed)
    shared = {"config": config.model_dump(), "train": train, "test": test}
    tasks = [{**shared, "method": "unconstrained", "strength": 0.0}] * (
        "unconstrained" in config.methods
    )
    for method in config.methods:
        if method != "unconstrained":
            for strength in config.strengths.get(method, ()):
                tasks.append({**shared, "method": method, "strength": float(strength)})
    points = list(map_fn(_run_point, tasks))
    for name, column in config.baseline_features.items():
        scores = test["features"][:, column]
        points.append(_evaluate(name, 0.0, scores, test, config))
    return {
        "points": points,
        "pareto": {
            method: pareto_front([p for p in points if p["method"] == method])
            for method in sorted({p["method"] for p in points})
        },
        "config": config.model_dump(),
        "events": {"train": len(train["labels"]), "test": len(test["labels"])},
    }


def pareto_front(points: Sequence[dict[str, Any]], efficiency: int = 50) -> list[int]:
    """Indices (into ``points``) of those that no other point beats in both R_ε and 1/JSD_ε.

    Example:
        >>> pareto_front([
        ...     {"metrics": {"R50": {"value": 10}, "inverse_jsd50": {"value": 5}}},
        ...     {"metrics": {"R50": {"value": 8}, "inverse_jsd50": {"value": 4}}},
        ...     {"metrics": {"R50": {"value": 5}, "inverse_jsd50": {"value": 50}}},
        ... ])
        [0, 2]
    """

    def value(point: dict[str, Any], name: str) -> float:
        found = point["metrics"][name]["value"]
        return math.inf if found is None else found  # None: infinite (JSON has no inf)

    values = [(value(p, f"R{efficiency}"), value(p, f"inverse_jsd{efficiency}")) for p in points]
    front = []
    for index, (rejection, flatness) in enumerate(values):
        dominated = any(
            r >= rejection and f >= flatness and (r, f) != (rejection, flatness) for r, f in values
        )
        if not dominated:
            front.append(index)
    return front


def _table(features: Any, labels: Any, weights: Any, mass: Any) -> dict[str, np.ndarray]:
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise DataError(f"features must be an (N, F) matrix, got shape {x.shape}")
    columns = {
        "labels": np.asarray(labels, dtype=np.float32).reshape(-1),
        "weights": np.asarray(weights, dtype=np.float32).reshape(-1),
        "mass": np.asarray(mass, dtype=np.float32).reshape(-1),
    }
    for name, column in {"features": x, **columns}.items():
        if len(column) != len(x):
            raise DataError(f"{name} has {len(column)} rows, the features {len(x)}")
        if not np.isfinite(column).all():
            raise DataError(f"{name} holds NaN or infinite values; drop or impute them first")
    return {"features": x, **columns}


def _split(
    data: dict[str, np.ndarray], test_fraction: float, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(len(data["labels"]))
    cut = int(round(len(order) * (1 - test_fraction)))
    parts = order[:cut], order[cut:]
    return tuple({name: column[part] for name, column in data.items()} for part in parts)


def _run_point(task: dict[str, Any]) -> dict[str, Any]:
    config = DecorrelationStudyConfig(**task["config"])
    method, strength, train = task["method"], task["strength"], task["train"]
    torch.manual_seed(config.seed)
    x = torch.as_tensor(train["features"])
    y, w, mass = (torch.as_tensor(train[name]) for name in ("labels", "weights", "mass"))
    w = w / w.mean()
    model = _classifier(x, config.hidden)
    if method == "adversary":
        loc, scale = mass.mean().item(), mass.std().item()
        adversary = MixtureDensityNetwork(1, components=5, loc=loc, scale=scale)
        loss_fn = AdversarialPivot(
            adversary, strength=strength, adversary_steps=config.adversary_steps
        )
    else:
        penalty = _penalty(method, strength, config)

        def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            features, target, weight, protected = batch
            logits = net(features).reshape(-1)
            bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
            loss = (weight * bce).sum() / weight.sum()
            # The last batch of an epoch can be too short for the penalty (MoDe needs a
            # background event a mass bin); it then counts its BCE only.
            if penalty is None or int((target == 0).sum()) < _LEAST_BACKGROUND:
                return loss
            return loss + penalty(torch.sigmoid(logits), protected, target, weight)

    fit(
        model,
        loss_fn,
        train=(x, y, w, mass),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        progress=False,
    )
    with torch.no_grad():
        scores = torch.sigmoid(model(torch.as_tensor(task["test"]["features"]))).reshape(-1)
    return _evaluate(method, strength, scores.numpy(), task["test"], config)


def _classifier(x: torch.Tensor, hidden: Sequence[int]) -> nn.Sequential:
    widths = [x.shape[1], *hidden]
    layers: list[nn.Module] = [Standardize.fit(x)]
    for size_in, size_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(size_in, size_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1))


def _penalty(method: str, strength: float, config: DecorrelationStudyConfig) -> Any:
    if method == "unconstrained" or strength == 0:
        return None
    options = {"unbiased": config.disco_unbiased} if method == "disco" else {}
    if method == "mode":
        options = {"order": config.mode_order}
    return decorrelation_loss(method, strength=strength, **options)


def _evaluate(
    method: str,
    strength: float,
    scores: np.ndarray,
    test: dict[str, np.ndarray],
    config: DecorrelationStudyConfig,
) -> dict[str, Any]:
    arrays = (scores, test["labels"], test["mass"], test["weights"])
    metrics = tagger_metrics(
        *arrays,
        efficiencies=config.efficiencies,
        bins=config.mass_bins,
        resamples=config.bootstrap,
        seed=config.seed,
    )
    histograms = {}
    for efficiency in config.efficiencies:
        passing, _ = sculpted_histograms(*arrays, efficiency=efficiency, bins=config.mass_bins)
        histograms[f"{round(100 * efficiency)}"] = passing.tolist()
    return {
        "method": method,
        "strength": strength,
        "metrics": {
            name: {key: (None if not math.isfinite(v) else v) for key, v in entry.items()}
            for name, entry in metrics.items()
        },
        "passing_background_mass": histograms,
    }
