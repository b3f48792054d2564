"""Decorrelation study: a tagger trained with each method and strength, compared by R50 and
1/JSD50 on any table of features, labels, weights and a mass column."""

import importlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from robusthep.audit import (
    DEFAULT_MASS_BINS,
    abcd_closure,
    auc,
    background_rejection,
    sculpted_histograms,
    tagger_metrics,
    threshold_at_efficiency,
)
from robusthep.errors import ConfigError, DataError, RobustHEPError
from robusthep.losses import (
    AdversarialPivot,
    MixtureDensityNetwork,
    decorrelation_loss,
    double_disco_loss,
)
from robusthep.nn.standardize import Standardize
from robusthep.studies.config import StudyConfig
from robusthep.train import fit

__all__ = [
    "DecorrelationStudyConfig",
    "modeloss_missing",
    "pareto_front",
    "point_label",
    "run_decorrelation_study",
]

# MoDe's default number of mass bins: the fewest background events a penalised batch holds.
_LEAST_BACKGROUND = 32

Method = Literal["unconstrained", "disco", "mode", "modeloss", "adversary", "double_disco"]
Table = dict[str, np.ndarray]
#: A designed tagger: (train split, test split) -> scores of the test events.
Baseline = Callable[[Table, Table], np.ndarray]

#: Columns every split table holds; auxiliary columns must not use these names.
_RESERVED = ("features", "labels", "weights", "mass")


class DecorrelationStudyConfig(StudyConfig):
    """The settings of :func:`run_decorrelation_study`; unknown keys are an error.

    ``mode_orders`` runs MoDe (and ``modeloss``) once per order; ``double_disco`` trains two
    networks decorrelated from each other and reports the ABCD closure of cuts at
    ``abcd_efficiency`` signal efficiency each. The defaults run in minutes on one core for
    ~10⁴ events.

    Example:
        >>> DecorrelationStudyConfig(mode_orders=(0, 2)).mode_orders
        (0, 2)
    """

    methods: tuple[Method, ...] = ("unconstrained", "disco", "mode", "adversary")
    strengths: dict[str, tuple[float, ...]] = Field(
        default_factory=lambda: {
            "disco": (1.0, 10.0, 100.0),
            "mode": (1.0, 10.0, 100.0),
            "modeloss": (1.0, 10.0, 100.0),
            "adversary": (1.0, 10.0),
            "double_disco": (0.0, 10.0, 100.0),
        }
    )
    mode_orders: tuple[Literal[0, 1, 2], ...] = (0,)
    mode_monotonic: bool = False
    disco_unbiased: bool = False
    adversary_steps: int = Field(5, ge=1)
    adversary_pretrain: int = Field(
        0, ge=0, description="epochs of classifier, then adversary, pretraining (the paper's)"
    )
    abcd_efficiency: float = Field(0.5, gt=0, lt=1)
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


def modeloss_missing() -> str | None:
    """Why the MoDe authors' ``modeloss`` cannot be used here, or None when it can.

    Example:
        >>> modeloss_missing() is None or "modeloss" in modeloss_missing()
        True
    """
    try:
        importlib.import_module("modeloss.pytorch")
    except Exception as error:  # noqa: BLE001 - any failure to import means "absent"
        return (
            f"modeloss cannot be imported ({type(error).__name__}: {error}); install it with "
            "`pip install --no-deps modeloss==0.1.0` (it declares tensorflow, which its torch "
            "backend does not need)"
        )
    return None


def point_label(method: str, order: int | None = None, *, unbiased: bool = False) -> str:
    """The name a point of the study carries in tables, figures and Pareto fronts.

    Example:
        >>> point_label("mode", 1), point_label("modeloss", 0), point_label("disco")
        ('MoDe[1]', 'modeloss MoDe[0]', 'DisCo')
    """
    names = {
        "disco": "DisCo (unbiased)" if unbiased else "DisCo",
        "mode": f"MoDe[{order}]",
        "modeloss": f"modeloss MoDe[{order}]",
        "adversary": "adversary",
        "double_disco": "Double DisCo",
        "unconstrained": "unconstrained",
    }
    return names.get(method, method)


def run_decorrelation_study(
    features: Any,
    labels: Any,
    weights: Any,
    mass: Any,
    config: DecorrelationStudyConfig | None = None,
    *,
    auxiliary: Mapping[str, Any] | None = None,
    baselines: Mapping[str, Baseline] | None = None,
    map_fn: Callable[[Callable[[dict], dict], Iterable[dict]], Iterable[dict]] = map,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train one classifier per (method, λ) and measure AUC, R_ε and 1/JSD_ε on a test split.

    Every point trains the same network (an MLP on standardised features, seeded) with
    weighted BCE plus: nothing (``unconstrained``), λ·DisCo, λ·MoDe of each order of
    ``mode_orders`` (ours, ``mode``, or the authors' ``modeloss`` package), an adversary
    (``AdversarialPivot``, K steps a classifier step), or, for ``double_disco``, a second
    network of the same shape with λ·dCor²(f, g) between the two (ABCD closure reported);
    the mass is a protected variable, never a feature. ``baseline_features`` adds untrained
    taggers, e.g. ``{"-tau21": 3}`` scores events by column 3 (negate columns beforehand so
    that larger is more signal-like); ``baselines`` adds designed ones computed from the
    splits (e.g. a DDT fitted on the training background).

    Arguments:
        features: (N, F) feature matrix.
        labels: (N,) 1 signal, 0 background.
        weights: (N,) event weights.
        mass: (N,) the protected variable in GeV.
        config: the settings; defaults if None.
        auxiliary: further per-event columns (name → (N,) array) carried into both splits
            for ``baselines``; never features.
        baselines: name → ``f(train, test) -> test scores``, the splits being dicts of
            ``features``, ``labels``, ``weights``, ``mass`` and the auxiliary columns.
        map_fn: how the points are run, ``map`` or an executor's ``map`` (each point is a
            plain dict and the function is module-level, so both pickle).
        log: called with a line when a method is skipped (``modeloss`` absent).

    Returns:
        JSON-ready: ``points`` (method, label, strength, order, metrics, background mass
        histograms passing each working point, and ``abcd`` for Double DisCo), ``pareto``
        (per label, the points not dominated in R50 and 1/JSD50), ``skipped`` (method →
        reason), ``background_mass`` (the test background's mass histogram) and
        ``background_weight`` (its total weight, all masses), ``config``,
        ``events``. Infinite values and missing errors are None.
    """
    config = config or DecorrelationStudyConfig()
    _check_strengths(config)
    data = _table(features, labels, weights, mass, auxiliary or {})
    train, test = _split(data, config.test_fraction, config.seed)
    skipped: dict[str, str] = {}
    methods = list(config.methods)
    if "modeloss" in methods:
        reason = modeloss_missing()
        if reason is not None:
            skipped["modeloss"] = reason
            methods.remove("modeloss")
            if log is not None:
                log(f"decorrelation: skipping the modeloss rows: {reason}")
    shared = {"config": config.model_dump(), "train": train, "test": test}
    tasks = [{**shared, "method": "unconstrained", "strength": 0.0, "order": None}] * (
        "unconstrained" in methods
    )
    for method in methods:
        if method == "unconstrained":
            continue
        orders = config.mode_orders if method in ("mode", "modeloss") else (None,)
        for order in orders:
            for strength in config.strengths.get(method, ()):
                tasks.append(
                    {**shared, "method": method, "strength": float(strength), "order": order}
                )
    points = list(map_fn(_run_point, tasks))
    designed = {
        name: test["features"][:, column] for name, column in config.baseline_features.items()
    }
    for name, baseline in (baselines or {}).items():
        designed[name] = np.asarray(baseline(train, test), dtype=np.float64).reshape(-1)
    for name, scores in designed.items():
        points.append(_evaluate(name, 0.0, None, scores, test, config))
    background = test["labels"] == 0
    histogram, _ = np.histogram(
        test["mass"][background],
        bins=np.asarray(config.mass_bins),
        weights=test["weights"][background],
    )
    pareto = {}
    for label in dict.fromkeys(p["label"] for p in points):
        members = [index for index, p in enumerate(points) if p["label"] == label]
        pareto[label] = [members[i] for i in pareto_front([points[i] for i in members])]
    return {
        "points": points,
        "pareto": pareto,
        "skipped": skipped,
        "background_mass": histogram.tolist(),
        "background_weight": float(test["weights"][background].sum()),
        "config": config.model_dump(),
        "events": {"train": len(train["labels"]), "test": len(test["labels"])},
    }


def pareto_front(points: Sequence[dict[str, Any]], efficiency: int = 50) -> list[int]:
    """Indices (into ``points``) of those that no other point beats in both R_ε and 1/JSD_ε.

    A metric stored as None is infinite (no background passes, or identical spectra); a
    point whose metric is marked ``undefined`` (no background in the mass bins) is left out.

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

    names = (f"R{efficiency}", f"inverse_jsd{efficiency}")
    defined = [
        index
        for index, point in enumerate(points)
        if not any(point["metrics"][name].get("undefined") for name in names)
    ]
    values = {index: tuple(value(points[index], name) for name in names) for index in defined}
    front = []
    for index, (rejection, flatness) in values.items():
        dominated = any(
            r >= rejection and f >= flatness and (r, f) != (rejection, flatness)
            for r, f in values.values()
        )
        if not dominated:
            front.append(index)
    return front


def _check_strengths(config: DecorrelationStudyConfig) -> None:
    valid = [m for m in get_args(Method) if m != "unconstrained"]
    for method, strengths in config.strengths.items():
        if method not in valid:
            raise ConfigError(
                f"strengths given for unknown method {method!r}; the methods are {valid}"
            )
        bad = [s for s in strengths if not (math.isfinite(s) and s >= 0)]
        if bad:
            raise ConfigError(f"λ must be finite and ≥ 0, got {bad} for {method!r}")


def _table(
    features: Any, labels: Any, weights: Any, mass: Any, auxiliary: Mapping[str, Any]
) -> Table:
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2:
        raise DataError(f"features must be an (N, F) matrix, got shape {x.shape}")
    clashing = sorted(set(auxiliary) & set(_RESERVED))
    if clashing:
        raise DataError(f"auxiliary columns may not be named {clashing}; rename them")
    columns = {
        "labels": np.asarray(labels, dtype=np.float32).reshape(-1),
        "weights": np.asarray(weights, dtype=np.float32).reshape(-1),
        "mass": np.asarray(mass, dtype=np.float32).reshape(-1),
        **{
            name: np.asarray(value, dtype=np.float64).reshape(-1)
            for name, value in auxiliary.items()
        },
    }
    for name, column in {"features": x, **columns}.items():
        if len(column) != len(x):
            raise DataError(f"{name} has {len(column)} rows, the features {len(x)}")
        if not np.isfinite(column).all():
            raise DataError(f"{name} holds NaN or infinite values; drop or impute them first")
    if not set(np.unique(columns["labels"]).tolist()) <= {0.0, 1.0}:
        raise DataError("labels must be 0 (background) or 1 (signal)")
    if (columns["weights"] < 0).any() or not columns["weights"].sum() > 0:
        raise DataError("weights must be ≥ 0 and not all zero")
    return {"features": x, **columns}


def _split(data: Table, test_fraction: float, seed: int) -> tuple[Table, Table]:
    order = np.random.default_rng(seed).permutation(len(data["labels"]))
    cut = int(round(len(order) * (1 - test_fraction)))
    parts = order[:cut], order[cut:]
    return tuple({name: column[part] for name, column in data.items()} for part in parts)


class _TwoTaggers(nn.Module):
    """Two independent networks f and g side by side: logits of shape (N, 2)."""

    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first, self.second = first, second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.first(x), self.second(x)], dim=1)


def _weighted_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (weight * bce).sum() / weight.sum()


def _modeloss_penalty(strength: float, order: int, monotonic: bool) -> Any:
    """λ × the authors' MoDeLoss, with background weights normalised to mean 1 as ours."""
    from modeloss.pytorch import MoDeLoss

    loss = MoDeLoss(order=order, bins=_LEAST_BACKGROUND, sbins=32, monotonic=monotonic)

    def penalty(
        scores: torch.Tensor, protected: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        background = labels == 0
        return strength * loss(scores, labels, protected, weights / weights[background].mean())

    return penalty


def _loss_function(
    method: str,
    strength: float,
    order: int | None,
    config: DecorrelationStudyConfig,
    mass: torch.Tensor,
) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], torch.Tensor]:
    if method == "adversary":
        loc, scale = mass.mean().item(), mass.std().item()
        adversary = MixtureDensityNetwork(1, components=5, loc=loc, scale=scale)
        return AdversarialPivot(
            adversary, strength=strength, adversary_steps=config.adversary_steps
        )
    if method == "double_disco":

        def double_loss(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
            features, target, weight, _ = batch
            logits = net(features)
            loss = _weighted_bce(logits[:, 0], target, weight) + _weighted_bce(
                logits[:, 1], target, weight
            )
            if strength == 0 or int((target == 0).sum()) < _LEAST_BACKGROUND:
                return loss
            f, g = torch.sigmoid(logits).unbind(1)
            penalty = double_disco_loss(f, g, target, weight, unbiased=config.disco_unbiased)
            return loss + strength * penalty

        return double_loss
    penalty = _penalty(method, strength, order, config)

    def loss_fn(net: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        features, target, weight, protected = batch
        logits = net(features).reshape(-1)
        loss = _weighted_bce(logits, target, weight)
        # The last batch of an epoch can be too short for the penalty (MoDe needs a
        # background event a mass bin); it then counts its BCE only.
        if penalty is None or int((target == 0).sum()) < _LEAST_BACKGROUND:
            return loss
        return loss + penalty(torch.sigmoid(logits), protected, target, weight)

    return loss_fn


def _run_point(task: dict[str, Any]) -> dict[str, Any]:
    torch.set_num_threads(1)  # tiny networks; in a worker process the default is every core
    config = DecorrelationStudyConfig(**task["config"])
    method, strength, order, train = task["method"], task["strength"], task["order"], task["train"]
    torch.manual_seed(config.seed)
    x = torch.as_tensor(train["features"])
    y, w, mass = (torch.as_tensor(train[name]) for name in ("labels", "weights", "mass"))
    w = w / w.mean()
    model: nn.Module = _classifier(x, config.hidden)
    if method == "double_disco":
        model = _TwoTaggers(model, _classifier(x, config.hidden))
    options = {"batch_size": config.batch_size, "lr": config.lr, "seed": config.seed}
    loss_fn = _loss_function(method, strength, order, config, mass)
    if isinstance(loss_fn, AdversarialPivot) and config.adversary_pretrain:
        # Learning to pivot's recipe: the classifier alone (the adversary follows it at no
        # cost to it), then the adversary on the fixed classifier, then the two together.
        pretrain = AdversarialPivot(loss_fn.adversary, strength=0.0, adversary_steps=1)
        epochs = config.adversary_pretrain
        fit(model, pretrain, train=(x, y, w, mass), epochs=epochs, progress=False, **options)
        adversary_loss = loss_fn.adversary_loss_fn(model)
        fit(
            loss_fn.adversary,
            adversary_loss,
            train=(x, y, w, mass),
            epochs=epochs,
            progress=False,
            **options,
        )
    fit(model, loss_fn, train=(x, y, w, mass), epochs=config.epochs, progress=False, **options)
    test = task["test"]
    with torch.no_grad():
        outputs = torch.sigmoid(model(torch.as_tensor(test["features"]))).numpy()
    point = _evaluate(method, strength, order, outputs[:, 0], test, config)
    if method == "double_disco":
        point["abcd"] = _abcd(outputs[:, 0], outputs[:, 1], test, config.abcd_efficiency)
    return point


def _abcd(f: np.ndarray, g: np.ndarray, test: Table, efficiency: float) -> dict[str, Any]:
    """The ABCD closure of cuts on f and g, each at ``efficiency`` signal efficiency."""
    labels, weights = test["labels"], test["weights"]
    cuts = (
        threshold_at_efficiency(f, labels, weights, efficiency=efficiency),
        threshold_at_efficiency(g, labels, weights, efficiency=efficiency),
    )
    signal = labels == 1
    try:
        closure = abcd_closure(f, g, labels, weights, cuts=cuts)
    except RobustHEPError as error:
        return {"cuts": list(cuts), "error": str(error)}
    both = (f >= cuts[0]) & (g >= cuts[1])
    return {
        "cuts": list(cuts),
        "yields": closure.yields,
        "errors": closure.errors,
        "predicted": closure.predicted,
        "closure": closure.closure,
        "closure_error": closure.closure_error,
        "signal_efficiency_both": float(weights[signal & both].sum() / weights[signal].sum()),
    }


def _classifier(x: torch.Tensor, hidden: Sequence[int]) -> nn.Sequential:
    widths = [x.shape[1], *hidden]
    layers: list[nn.Module] = [Standardize.fit(x)]
    for size_in, size_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(size_in, size_out), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(widths[-1], 1))


def _penalty(
    method: str, strength: float, order: int | None, config: DecorrelationStudyConfig
) -> Any:
    if method == "unconstrained" or strength == 0:
        return None
    if method == "modeloss":
        return _modeloss_penalty(strength, order, config.mode_monotonic)
    options: dict[str, Any] = {"unbiased": config.disco_unbiased} if method == "disco" else {}
    if method == "mode":
        options = {"order": order, "monotonic": config.mode_monotonic}
    return decorrelation_loss(method, strength=strength, **options)


def _metrics(
    arrays: tuple[np.ndarray, ...], efficiency: float, config: DecorrelationStudyConfig
) -> dict[str, dict[str, float]]:
    """AUC, R_ε and 1/JSD_ε at one working point with bootstrap errors. Where a resample
    leaves no passing background in the mass bins, 1/JSD_ε has no error; where even the
    sample does, it is marked ``undefined``."""
    key = f"{round(100 * efficiency)}"
    options = {"efficiencies": (efficiency,), "seed": config.seed}
    try:
        return tagger_metrics(*arrays, resamples=config.bootstrap, bins=config.mass_bins, **options)
    except DataError:
        pass
    # Bins holding every event: AUC and R_ε do not depend on them, and they are defined.
    mass = arrays[2]
    every = (float(mass.min()) - 1.0, float(mass.max()) + 1.0)
    try:
        found = tagger_metrics(*arrays, resamples=config.bootstrap, bins=every, **options)
    except DataError:
        scores, labels, _, weights = arrays
        rejection = background_rejection(scores, labels, weights, efficiency=efficiency)
        found = {
            "auc": {"value": auc(scores, labels, weights), "error": math.nan},
            f"R{key}": {"value": rejection, "error": math.nan},
        }
    try:
        without_errors = tagger_metrics(*arrays, resamples=0, bins=config.mass_bins, **options)
        found[f"inverse_jsd{key}"] = without_errors[f"inverse_jsd{key}"]
    except DataError:
        found[f"inverse_jsd{key}"] = {"value": math.nan, "error": math.nan, "undefined": True}
    return found


def _evaluate(
    method: str,
    strength: float,
    order: int | None,
    scores: np.ndarray,
    test: Table,
    config: DecorrelationStudyConfig,
) -> dict[str, Any]:
    arrays = (scores, test["labels"], test["mass"], test["weights"])
    metrics: dict[str, dict[str, float]] = {}
    histograms = {}
    for efficiency in config.efficiencies:
        key = f"{round(100 * efficiency)}"
        found = _metrics(arrays, efficiency, config)
        if found[f"inverse_jsd{key}"].get("undefined"):
            passing = np.zeros(len(config.mass_bins) - 1)
        else:
            passing, _ = sculpted_histograms(*arrays, efficiency=efficiency, bins=config.mass_bins)
        metrics.update({k: v for k, v in found.items() if k not in metrics})
        histograms[key] = passing.tolist()
    return {
        "method": method,
        "label": point_label(method, order, unbiased=config.disco_unbiased),
        "strength": strength,
        "order": order,
        "metrics": {
            name: {key: (None if not math.isfinite(v) else v) for key, v in entry.items()}
            for name, entry in metrics.items()
        },
        "passing_background_mass": histograms,
    }
