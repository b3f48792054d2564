"""An LHCb-like inclusive b-hadron trigger: a monotonic network against an MLP and a BDT."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator
from torch import nn

from robusthep.audit import auc, bootstrap, verify
from robusthep.errors import DataError
from robusthep.nn import to_plain
from robusthep.report import DIMENSIONLESS, RunFolder, Section, figure, format_quantity, quantity
from robusthep.sim import BTriggerSettings, degrade_tracker, generate_btrigger
from robusthep.studies._common import (
    count_violations,
    monotonic_mlp,
    parameter_count,
    relu_mlp,
    seeded,
)
from robusthep.studies.config import StudyConfig
from robusthep.train import fit

__all__ = ["FEATURES", "MODELS", "TriggerConfig", "run_trigger"]

ModelName = Literal["monotonic", "mlp", "bdt"]

#: The models the study can compare, and how the report names them.
MODELS: dict[str, str] = {
    "monotonic": "robusthep monotonic NN",
    "mlp": "unconstrained ReLU MLP",
    "bdt": "gradient-boosted trees (scikit-learn)",
}

#: The btrigger columns a trigger may use (all ≥ 0; the networks see log(1 + x), standardised).
FEATURES = (
    "sum_pt",
    "min_pt",
    "fd_chi2",
    "decay_time",
    "min_ip_chi2",
    "vertex_chi2",
    "doca",
    "corrected_mass",
)

_UNITS = {
    "sum_pt": "GeV",
    "min_pt": "GeV",
    "fd_chi2": DIMENSIONLESS,
    "decay_time": "ps",
    "min_ip_chi2": DIMENSIONLESS,
    "vertex_chi2": DIMENSIONLESS,
    "doca": "mm",
    "corrected_mass": "GeV",
}
_AXIS_LABELS = {
    "sum_pt": "Σ pT of the two tracks [GeV]",
    "fd_chi2": "flight distance χ²",
    "decay_time": "decay time [ps]",
    "min_pt": "min pT [GeV]",
    "min_ip_chi2": "min IP χ²",
}
_COLORS = {"monotonic": "tab:blue", "mlp": "tab:red", "bdt": "tab:green"}
_LIFETIME_FROM_PS = 1.0  # above this the displacement cuts no longer shape the decay times

Log = Callable[[str], None]


def _silent(message: str) -> None:
    """Discard a progress message."""


class TriggerConfig(StudyConfig):
    """The configuration of ``robusthep trigger``.

    λ bounds every |∂f/∂xᵢ| in standardised log(1 + x) units of the logit; the wrapper adds
    λ·(x_sum_pt + x_fd_chi2 + x_decay_time) by default.

    Example:
        >>> TriggerConfig.quick().events, TriggerConfig().events
        (5000, 20000)
        >>> TriggerConfig(increasing=("mass",))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for TriggerConfig
        ...
    """

    seed: int = 0
    events: int = Field(20_000, ge=100, description="Pythia events per process")
    fast: bool = False
    data_seed: int = 0
    features: tuple[str, ...] = FEATURES
    increasing: tuple[str, ...] = ("sum_pt", "fd_chi2", "decay_time")
    models: tuple[ModelName, ...] = ("monotonic", "mlp", "bdt")
    train_fraction: float = Field(0.5, gt=0, lt=1)
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    hidden: tuple[int, ...] = (32, 32)
    group_size: int = Field(2, ge=2)
    lipschitz: float = Field(4.0, gt=0)
    epochs: int = Field(30, ge=1)
    lr: float = Field(1e-2, gt=0)
    batch_size: int = Field(1024, ge=1)
    bdt_iterations: int = Field(200, ge=1)
    retentions: tuple[float, ...] = (0.01, 0.05)
    degradation: float = Field(1.2, ge=1)
    bootstrap: int = Field(200, ge=2)
    grid_events: int = Field(500, ge=1)
    grid_points: int = Field(50, ge=3)
    bins: int = Field(8, ge=2)
    audit_pairs: int = Field(2048, ge=2)
    audit_steps: int = Field(30, ge=0)

    @model_validator(mode="after")
    def _check(self) -> "TriggerConfig":
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; the btrigger features are {FEATURES}")
        outside = sorted(set(self.increasing) - set(self.features))
        if outside or not self.increasing:
            raise ValueError(
                f"increasing must name at least one of the features {self.features}; "
                f"{outside} are not among them"
            )
        if self.train_fraction + self.validation_fraction >= 1:
            raise ValueError("train_fraction + validation_fraction must leave a test part (< 1)")
        if any(not 0 < r < 1 for r in self.retentions) or not self.retentions:
            raise ValueError(f"retentions must lie in (0, 1), got {self.retentions}")
        return self

    @classmethod
    def quick(cls) -> "TriggerConfig":
        """The cached demo sample (fast mode, 5 000 events per process), 80 epochs of 256."""
        return cls(events=5_000, fast=True, epochs=80, batch_size=256, bootstrap=100)

    def data_settings(self) -> BTriggerSettings:
        """The ``btrigger`` sample this configuration reads."""
        return BTriggerSettings(events=self.events, fast=self.fast, seed=self.data_seed)


@dataclass(frozen=True)
class _Data:
    table: dict[str, Any]
    train: np.ndarray  # boolean masks over the candidates
    validation: np.ndarray
    test: np.ndarray
    mean: np.ndarray  # of log(1 + feature) over the training part
    scale: np.ndarray

    def inputs(self, table: dict[str, Any], features: tuple[str, ...]) -> torch.Tensor:
        raw = np.stack([np.asarray(table[name], dtype=np.float64) for name in features], 1)
        return torch.tensor((np.log1p(raw) - self.mean) / self.scale, dtype=torch.float32)


def _split(table: dict[str, Any], config: TriggerConfig) -> _Data:
    # Whole events go to one part: candidates of one event share tracks.
    key = np.char.add(np.asarray(table["process"], dtype=str), np.asarray(table["event"], str))
    _, event = np.unique(key, return_inverse=True)
    u = np.random.default_rng(config.seed).random(event.max() + 1)[event]
    train = u < config.train_fraction
    validation = (u >= config.train_fraction) & (
        u < config.train_fraction + config.validation_fraction
    )
    test = ~(train | validation)
    raw = np.stack([np.asarray(table[name], dtype=np.float64) for name in config.features], 1)
    logs = np.log1p(raw[train])
    return _Data(table, train, validation, test, logs.mean(0), logs.std(0))


class _TreeScores(nn.Module):
    """A fitted scikit-learn classifier as a module: its decision function, no gradient."""

    def __init__(self, classifier: Any) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = self.classifier.decision_function(x.detach().cpu().numpy().astype(np.float32))
        return torch.as_tensor(scores, dtype=x.dtype).unsqueeze(-1)


def _bce(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(model(batch[0]), batch[1])


def _train_network(
    name: str, config: TriggerConfig, x: torch.Tensor, y: torch.Tensor, data: _Data, progress: bool
) -> tuple[nn.Module, dict[str, Any]]:
    features = config.features
    if name == "monotonic":

        def build() -> nn.Module:
            return monotonic_mlp(
                features,
                hidden=config.hidden,
                lipschitz=config.lipschitz,
                group_size=config.group_size,
                increasing=config.increasing,
            )
    else:

        def build() -> nn.Module:
            return relu_mlp(len(features), config.hidden)

    model = seeded(build, config.seed)
    result = fit(
        model,
        _bce,
        train=(x[data.train], y[data.train]),
        validation=(x[data.validation], y[data.validation]),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
    )
    return model.eval(), {"best_epoch": result.best_epoch, "parameters": parameter_count(model)}


def _train_bdt(
    config: TriggerConfig, x: torch.Tensor, labels: np.ndarray, data: _Data
) -> tuple[nn.Module, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    # Its own early stopping on the validation part, like the networks' best epoch.
    fitted = data.train | data.validation
    classifier = HistGradientBoostingClassifier(
        max_iter=config.bdt_iterations,
        early_stopping=True,
        validation_fraction=config.validation_fraction
        / (config.train_fraction + config.validation_fraction),
        random_state=config.seed,
    )
    classifier.fit(x[fitted].numpy(), labels[fitted])
    return _TreeScores(classifier).eval(), {"iterations": int(classifier.n_iter_)}


def _available(models: tuple[str, ...], log: Log) -> tuple[list[str], dict[str, str]]:
    skipped = {}
    if "bdt" in models:
        try:
            import sklearn  # noqa: F401
        except ModuleNotFoundError:
            skipped["bdt"] = (
                "scikit-learn is not installed: pip install 'robusthep[reference]' (or "
                "scikit-learn>=1.4) to compare with gradient-boosted trees"
            )
            log(f"trigger: skipping the BDT ({skipped['bdt']})")
    return [name for name in models if name not in skipped], skipped


def _scores(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model(x).reshape(-1).double().numpy()


def _threshold(background: np.ndarray, retention: float) -> float:
    """The cut ``score > t`` keeping the fraction ``retention`` of the background."""
    return float(np.quantile(background, 1.0 - retention))


def _efficiency(scores: np.ndarray, labels: np.ndarray, retention: float) -> float:
    cut = _threshold(scores[labels == 0], retention)
    return float(np.mean(scores[labels == 1] > cut))


def _change(
    nominal: np.ndarray, degraded: np.ndarray, labels: np.ndarray, retention: float
) -> float:
    cut = _threshold(nominal[labels == 0], retention)
    signal = labels == 1
    return float(np.mean(degraded[signal] > cut) - np.mean(nominal[signal] > cut))


def _rate_change(
    nominal: np.ndarray, degraded: np.ndarray, labels: np.ndarray, retention: float
) -> float:
    cut = _threshold(nominal[labels == 0], retention)
    return float(np.mean(degraded[labels == 0] > cut)) - retention


def _bootstrapped(metric: Callable[..., float], *arrays: Any, config: TriggerConfig) -> Any:
    return bootstrap(metric, *arrays, resamples=config.bootstrap, seed=config.seed)


def _working_points(
    nominal: np.ndarray, degraded: np.ndarray, labels: np.ndarray, config: TriggerConfig
) -> dict[str, Any]:
    points = {}
    for retention in config.retentions:
        efficiency = _bootstrapped(
            lambda s, y, r=retention: _efficiency(s, y, r), nominal, labels, config=config
        )
        change, rate = (
            _bootstrapped(
                lambda a, b, y, r=retention, f=metric: f(a, b, y, r),
                nominal,
                degraded,
                labels,
                config=config,
            )
            for metric in (_change, _rate_change)
        )
        cut = _threshold(nominal[labels == 0], retention)
        signal = labels == 1
        points[f"{retention:.0%}"] = {
            "background_retention": quantity(retention, DIMENSIONLESS),
            "threshold": quantity(cut, "logit", note="score > threshold passes"),
            "efficiency": quantity(efficiency.value, DIMENSIONLESS, std=efficiency.error),
            "efficiency_degraded": quantity(float(np.mean(degraded[signal] > cut)), DIMENSIONLESS),
            "efficiency_change": quantity(
                change.value, DIMENSIONLESS, std=change.error, note="degraded − nominal"
            ),
            "background_retention_change": quantity(
                rate.value, DIMENSIONLESS, std=rate.error, note="degraded − nominal"
            ),
        }
    return points


def _binned_efficiency(
    values: np.ndarray, passed: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(index, minlength=len(edges) - 1).astype(float)
    hits = np.bincount(index, weights=passed.astype(float), minlength=len(edges) - 1)
    efficiency = hits / np.maximum(counts, 1)
    # Binomial errors, never below what one event in the bin allows.
    error = np.sqrt(np.maximum(efficiency * (1 - efficiency), 1 / np.maximum(counts, 1)))
    return efficiency, error / np.sqrt(np.maximum(counts, 1)), counts


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    edges = np.quantile(values, np.linspace(0, 1, bins + 1))
    return np.unique(edges)


def _curves(
    scores: np.ndarray, labels: np.ndarray, table: dict[str, Any], config: TriggerConfig
) -> dict[str, Any]:
    """Signal efficiency in bins of decay time (measured and true) and of sum pT."""
    retention = max(config.retentions)
    cut = _threshold(scores[labels == 0], retention)
    signal = labels == 1
    passed = scores[signal] > cut
    curves = {}
    for variable, unit in (("decay_time", "ps"), ("true_b_decay_time", "ps"), ("sum_pt", "GeV")):
        values = np.asarray(table[variable], dtype=np.float64)[signal]
        edges = _edges(values, config.bins)
        efficiency, error, counts = _binned_efficiency(values, passed, edges)
        drops = np.diff(efficiency) < -2 * np.hypot(error[1:], error[:-1])
        curves[variable] = {
            "edges": quantity(edges.tolist(), unit),
            "efficiency": quantity(efficiency.tolist(), DIMENSIONLESS, std=None),
            "error": quantity(error.tolist(), DIMENSIONLESS),
            "signal_candidates": quantity(counts.astype(int).tolist(), "count"),
            "significant_drops": quantity(
                int(drops.sum()),
                "count",
                note="neighbouring bins where the efficiency falls by more than 2 σ",
            ),
            "background_retention": quantity(retention, DIMENSIONLESS),
        }
    return curves


def _grid_violations(model: nn.Module, x: torch.Tensor, config: TriggerConfig) -> dict[str, Any]:
    """Each of ``grid_events`` test candidates scanned along each increasing feature.

    The grid spans the test range widened by one standard deviation on both sides; the
    falls inside the test range itself are counted apart (``within_test_range``).
    """
    rows = torch.randperm(len(x), generator=torch.Generator().manual_seed(config.seed))
    base = x[rows[: config.grid_events]]
    counts = {}
    for feature in config.increasing:
        index = config.features.index(feature)
        low, high = float(x[:, index].min()), float(x[:, index].max())
        grid = torch.linspace(low - 1, high + 1, config.grid_points)
        violations, steps = count_violations(model, base, index, grid, sign=1)
        inside = torch.linspace(low, high, config.grid_points)
        within, _ = count_violations(model, base, index, inside, sign=1)
        counts[feature] = quantity(violations, "count", steps=steps, within_test_range=within)
    return counts


def _verify(model: nn.Module, x: torch.Tensor, name: str, config: TriggerConfig) -> dict[str, Any]:
    """robusthep.audit.verify on the model (exported to plain layers for the monotonic NN)."""
    checked = to_plain(model) if name == "monotonic" else model
    # Trees have no gradient: as a plain callable, verify searches locally instead.
    report = verify(
        checked.forward if name == "bdt" else checked,
        x,
        increasing=list(config.increasing),
        feature_names=list(config.features),
        pairs=config.audit_pairs,
        steps=config.audit_steps,
        seed=config.seed,
    )
    entry = {
        "violations": quantity(sum(report.monotonic_violations.values()), "count"),
        "pairs_per_feature": quantity(report.monotonic_pairs, "count"),
        "worst_wrong_way_step": quantity(
            max(report.worst_monotonic_step.values()),
            "logit",
            note="largest fall found along an increasing feature; <= 0 means none",
        ),
        "searches": report.searches,
    }
    if name == "monotonic":
        with torch.no_grad():
            gap = float((checked(x) - model(x)).abs().max())
        entry["exported"] = "to_plain: LipschitzLinear baked into nn.Linear, bound re-checked"
        entry["export_max_difference"] = quantity(gap, "logit")
    return entry


def _lifetime(table: dict[str, Any]) -> tuple[dict[str, Any], np.ndarray]:
    """The b-hadron lifetime from the true decay times of the signal, one entry per hadron,
    and those decay times above the cut, minus the cut."""
    from scipy import stats

    signal = np.asarray(table["label"]) == 1
    key = np.char.add(
        np.asarray(table["process"], dtype=str)[signal], np.asarray(table["event"], str)[signal]
    )
    times = np.asarray(table["true_b_decay_time"], dtype=np.float64)[signal]
    _, first = np.unique(np.char.add(np.char.add(key, "/"), times.astype(str)), return_index=True)
    times = times[first]
    late = times[times > _LIFETIME_FROM_PS] - _LIFETIME_FROM_PS
    if len(late) < 10:
        raise DataError(
            f"only {len(late)} signal b hadrons decay after {_LIFETIME_FROM_PS:g} ps, too few "
            "for the lifetime check; use more events (events = ...)"
        )
    tau = float(late.mean())  # the maximum-likelihood exponential lifetime above the cut
    return {
        "lifetime": quantity(
            tau,
            "ps",
            std=tau / math.sqrt(len(late)),
            note=f"mean excess of true decay times above {_LIFETIME_FROM_PS:g} ps",
        ),
        "hadrons": quantity(len(late), "count"),
        "ks_p_value": quantity(float(stats.kstest(late, "expon", args=(0, tau)).pvalue), "1"),
        "expected": quantity(
            1.55, "ps", note="B0/B+/Bs/Lambda_b mixture; docs/sim.md measures 1.64 +- 0.04 ps"
        ),
    }, late


def run_trigger(
    config: TriggerConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Train the triggers on ``btrigger`` and write their results, figures and report.

    Protocol: candidates split by event (``train_fraction`` / ``validation_fraction`` /
    the rest for testing); features log(1 + x), standardised on the training part; the
    networks trained with binary cross-entropy (Adam, best validation epoch kept), the BDT
    with its own early stopping. On the test part: the signal efficiency at the cut keeping
    each background retention (bootstrap errors), the efficiency in bins of decay time and
    sum pT, grid scans of every increasing feature counting falls, a
    :func:`~robusthep.audit.verify` audit, and the same cuts applied to the test part
    re-smeared with a ``degradation`` times worse tracker
    (:func:`~robusthep.sim.degrade_tracker`; candidates that then fail the preselection are
    rejected).

    Arguments:
        config: what to run.
        folder: the run folder.
        command: the command line that reproduces the run, shown in the report.
        progress: show progress bars.
        log: called with a line saying what runs now.

    Returns:
        The results, as written to ``results.json``.

    Example:
        >>> import tempfile
        >>> tiny = TriggerConfig.quick().model_copy(update={"epochs": 1, "models": (
        ...     "monotonic",), "bootstrap": 2, "grid_events": 5, "grid_points": 3,
        ...     "audit_pairs": 16, "audit_steps": 1})
        >>> results = run_trigger(tiny, RunFolder(tempfile.mkdtemp()))
        >>> results["models"]["monotonic"]["violations_total"]["value"]
        0

    References:
        Kitouni, Nolte, Williams, "Robust and provably monotonic networks", NeurIPS 2021
        Machine Learning and the Physical Sciences workshop, arXiv:2112.00038 (the LHCb
        Run-3 inclusive b-hadron trigger); Gligorov, Williams, JINST 8 (2013) P02013,
        arXiv:1210.6861 (its BDT predecessor).
    """
    started = time.perf_counter()
    folder.write_config(config.model_dump(mode="json"))
    names, skipped = _available(config.models, log)
    log(f"trigger: reading btrigger ({config.events} events per process)")
    dataset = generate_btrigger(config.data_settings(), progress=progress)
    table = dict(dataset.columns)
    data = _split(table, config)
    x = data.inputs(table, config.features)
    labels = np.asarray(table["label"], dtype=np.int64)
    y = torch.tensor(labels, dtype=torch.float32)[:, None]
    test_table = {key: np.asarray(value)[data.test] for key, value in table.items()}
    degraded_table = degrade_tracker(test_table, config.degradation, seed=config.seed + 1)
    selection = config.data_settings().selection()
    still_selected = (
        (degraded_table["min_ip_chi2"] > selection.track_ip_chi2_min)
        & (degraded_table["vertex_chi2"] < selection.vertex_chi2_max)
        & (degraded_table["min_pt"] > selection.track_pt_min)
    )
    x_test, x_degraded = x[data.test], data.inputs(degraded_table, config.features)
    test_labels = labels[data.test]

    models: dict[str, Any] = {}
    trained: dict[str, nn.Module] = {}
    scores: dict[str, np.ndarray] = {}
    for name in names:
        log(f"trigger: training the {MODELS[name]}")
        begin = time.perf_counter()
        if name == "bdt":
            model, info = _train_bdt(config, x, labels, data)
        else:
            model, info = _train_network(name, config, x, y, data, progress)
        seconds = time.perf_counter() - begin
        nominal = _scores(model, x_test)
        degraded = np.where(still_selected, _scores(model, x_degraded), -np.inf)
        log(f"trigger: auditing the {MODELS[name]}")
        violations = _grid_violations(model, x_test, config)
        models[name] = {
            "label": MODELS[name],
            **{key: quantity(value, "count") for key, value in info.items()},
            "training_time": quantity(seconds, "s"),
            "auc": quantity(auc(nominal, test_labels), DIMENSIONLESS),
            "working_points": _working_points(nominal, degraded, test_labels, config),
            "curves": _curves(nominal, test_labels, test_table, config),
            "violations": violations,
            "violations_total": quantity(
                sum(v["value"] for v in violations.values()),
                "count",
                steps=sum(v["steps"] for v in violations.values()),
                within_test_range=sum(v["within_test_range"] for v in violations.values()),
            ),
            "verify": _verify(model, x_test, name, config),
        }
        trained[name], scores[name] = model, nominal

    lifetime, late = _lifetime(table)
    results = {
        "study": "trigger",
        "dataset": {
            "settings": {
                "events_per_process": quantity(config.events, "count"),
                "fast": config.fast,
                "seed": quantity(config.data_seed, "count"),
            },
            "candidates": quantity(len(labels), "count"),
            "signal": quantity(int(labels.sum()), "count"),
            "train": quantity(int(data.train.sum()), "count"),
            "validation": quantity(int(data.validation.sum()), "count"),
            "test": quantity(int(data.test.sum()), "count"),
            "test_signal": quantity(int(test_labels.sum()), "count"),
            "lost_to_preselection_when_degraded": quantity(
                float(1 - still_selected[test_labels == 1].mean()),
                DIMENSIONLESS,
                note="signal test candidates failing IP chi2 / vertex chi2 / pT cuts afterwards",
            ),
        },
        "protocol": _protocol(config),
        "physics": lifetime,
        "models": models,
        "skipped": skipped,
    }
    figures = _figures(folder, config, results, trained, x_test, scores, test_labels, late, data)
    results["wall_time"] = quantity(time.perf_counter() - started, "s")
    folder.write_results(results)
    _write_report(folder, config, results, figures, command)
    return results


def _protocol(config: TriggerConfig) -> str:
    return (
        f"btrigger, {config.events} Pythia events per process "
        f"({'fast' if config.fast else 'full'} mode, seed {config.data_seed}); candidates split "
        f"by event: {config.train_fraction:.0%} training, {config.validation_fraction:.0%} "
        "validation, the rest test. Features "
        f"{', '.join(config.features)} as log(1 + x), standardised on the training part. "
        f"Networks: hidden widths {list(config.hidden)}, binary cross-entropy, Adam lr "
        f"{config.lr:g}, batch {config.batch_size}, {config.epochs} epochs, best validation "
        f"epoch kept; the monotonic one Lipschitz (first layer one-inf, then inf, GroupSort of "
        f"{config.group_size}) with lambda {config.lipschitz:g} and increasing in "
        f"{', '.join(config.increasing)}; the MLP the same widths with ReLU. BDT: scikit-learn "
        f"HistGradientBoostingClassifier, up to {config.bdt_iterations} iterations with early "
        "stopping, no monotonic constraint. Output rate: the fraction of background test "
        "candidates (unweighted) above the cut; errors: bootstrap over test candidates "
        f"({config.bootstrap} resamples). Degraded tracker: every resolution x"
        f"{config.degradation:g} at test time (robusthep.sim.degrade_tracker), cuts kept from "
        "the nominal test sample; candidates failing the preselection afterwards are rejected."
    )


def _figures(
    folder: RunFolder,
    config: TriggerConfig,
    results: dict[str, Any],
    trained: dict[str, nn.Module],
    x_test: torch.Tensor,
    scores: dict[str, np.ndarray],
    labels: np.ndarray,
    late: np.ndarray,
    data: _Data,
) -> dict[str, str]:
    paths = {
        "efficiency": _efficiency_figure(folder, results),
        "scans": _scan_figure(folder, config, trained, x_test, data),
        "roc": _roc_figure(folder, config, scores, labels),
        "lifetime": _lifetime_figure(folder, results, late),
    }
    return {key: folder.relative(path) for key, path in paths.items()}


def _efficiency_figure(folder: RunFolder, results: dict[str, Any]) -> Any:
    path = folder.figure_path("efficiency")
    titles = {
        "decay_time": "measured decay time [ps]",
        "true_b_decay_time": "true b-hadron decay time [ps]",
        "sum_pt": "Σ pT of the two tracks [GeV]",
    }
    with figure(path, ncols=len(titles), size=(5.5 * len(titles), 4.5)) as (_, axes):
        for ax, (variable, title) in zip(np.atleast_1d(axes), titles.items(), strict=True):
            for model, entry in results["models"].items():
                curve = entry["curves"][variable]
                edges = np.asarray(curve["edges"]["value"])
                centres = np.sqrt(np.maximum(edges[1:] * edges[:-1], 1e-6))
                ax.errorbar(
                    centres,
                    curve["efficiency"]["value"],
                    yerr=curve["error"]["value"],
                    xerr=[centres - edges[:-1], edges[1:] - centres],
                    fmt="o-",
                    color=_COLORS[model],
                    label=entry["label"],
                    capsize=2,
                )
                retention = curve["background_retention"]["value"]
            ax.set_xscale("log")
            ax.set_xlabel(title, fontsize=12)
            ax.set_ylabel(f"signal efficiency, {retention:.0%} output rate", fontsize=12)
            ax.set_ylim(0, 1.05)
        np.atleast_1d(axes)[0].legend(fontsize=9)
    return path


def _scan_figure(
    folder: RunFolder,
    config: TriggerConfig,
    trained: dict[str, nn.Module],
    x_test: torch.Tensor,
    data: _Data,
) -> Any:
    path = folder.figure_path("monotone_scans")
    features = list(config.increasing)
    rows = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(config.seed + 2))
    events = x_test[rows[:4]]
    styles = ("-", "--", ":", "-.")
    with figure(path, ncols=len(features), size=(5.5 * len(features), 4.5)) as (_, axes):
        for ax, feature in zip(np.atleast_1d(axes), features, strict=True):
            index = config.features.index(feature)
            low, high = float(x_test[:, index].min()), float(x_test[:, index].max())
            grid = torch.linspace(low - 0.5, high + 0.5, 100)
            physical = np.expm1(grid.numpy() * data.scale[index] + data.mean[index])
            for name, model in trained.items():
                for style, event in zip(styles, events, strict=False):
                    scan = event.repeat(len(grid), 1)
                    scan[:, index] = grid
                    label = MODELS[name] if style == styles[0] else None
                    ax.plot(
                        physical, _scores(model, scan), color=_COLORS[name], ls=style, label=label
                    )
            ax.set_xscale("log")
            ax.set_xlabel(_AXIS_LABELS.get(feature, feature), fontsize=12)
            ax.set_ylabel("output (logit); one line style per candidate", fontsize=11)
        np.atleast_1d(axes)[0].legend(fontsize=9)
    return path


def _roc_figure(
    folder: RunFolder, config: TriggerConfig, scores: dict[str, np.ndarray], labels: np.ndarray
) -> Any:
    path = folder.figure_path("roc")
    with figure(path, size=(6.5, 5)) as (_, ax):
        for name, values in scores.items():
            retention = np.logspace(-3, 0, 60)
            efficiency = [_efficiency(values, labels, r) for r in retention[:-1]] + [1.0]
            ax.plot(retention, efficiency, color=_COLORS[name], label=MODELS[name])
        for retention in config.retentions:
            ax.axvline(retention, color="gray", ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("background retention (output rate)")
        ax.set_ylabel("signal efficiency")
        ax.legend(fontsize=10)
    return path


def _lifetime_figure(folder: RunFolder, results: dict[str, Any], late: np.ndarray) -> Any:
    path = folder.figure_path("lifetime")
    tau = results["physics"]["lifetime"]["value"]
    with figure(path, size=(6.5, 5)) as (_, ax):
        edges = np.linspace(0, 10, 26)
        counts, _ = np.histogram(late, edges)
        centres = (edges[1:] + edges[:-1]) / 2
        ax.errorbar(
            centres + 1,
            counts,
            yerr=np.sqrt(counts),
            fmt="o",
            color="black",
            label="signal b hadrons (true decay time)",
        )
        width = edges[1] - edges[0]
        expected = len(late) * (np.exp(-edges[:-1] / tau) - np.exp(-edges[1:] / tau))
        ax.step(
            edges[:-1] + 1,
            expected,
            where="post",
            color="tab:blue",
            label=f"exponential, τ = {tau:.2f} ps",
        )
        ax.set_yscale("log")
        ax.set_xlabel("true decay time [ps]")
        ax.set_ylabel(f"hadrons / {width:.1f} ps")
        ax.legend(fontsize=10)
    return path


def _write_report(
    folder: RunFolder,
    config: TriggerConfig,
    results: dict[str, Any],
    figures: dict[str, str],
    command: str | None,
) -> None:
    retentions = [f"{r:.0%}" for r in config.retentions]
    header = ["model", "AUC"]
    header += [f"efficiency at {r}" for r in retentions]
    header += [f"change, tracker ×{config.degradation:g}, at {r}" for r in retentions]
    header += ["violations (grid)", "violations (audit.verify)"]
    rows = []
    for entry in results["models"].values():
        points = entry["working_points"]
        rows.append(
            [entry["label"], format_quantity(entry["auc"])]
            + [format_quantity(points[r]["efficiency"]) for r in retentions]
            + [format_quantity(points[r]["efficiency_change"]) for r in retentions]
            + [
                format_quantity(entry["violations_total"]),
                format_quantity(entry["verify"]["violations"]),
            ]
        )
    rates = {
        f"{entry['label']}: background retention change at {r}": entry["working_points"][r][
            "background_retention_change"
        ]
        for entry in results["models"].values()
        for r in retentions
    }
    drops = {
        f"{entry['label']}: significant efficiency drops vs measured decay time": entry["curves"][
            "decay_time"
        ]["significant_drops"]
        for entry in results["models"].values()
    }
    physics = results["physics"]
    skipped = "".join(f" Skipped {name}: {why}." for name, why in results["skipped"].items())
    folder.write_report(
        title="robusthep trigger: an inclusive b-hadron trigger, monotonic in pT and displacement",
        sections=[
            Section("Protocol", text=results["protocol"] + skipped),
            Section(
                "Physics check: the b-hadron lifetime",
                text="True decay times of the signal b hadrons (one entry per hadron) above "
                f"{_LIFETIME_FROM_PS:g} ps, where the displacement cuts no longer shape them, "
                "should follow an exponential with the B0/B+/Bs/Lambda_b lifetime mixture.",
                numbers={
                    "fitted lifetime": physics["lifetime"],
                    "hadrons": physics["hadrons"],
                    "Kolmogorov-Smirnov p-value": physics["ks_p_value"],
                    "expected": physics["expected"],
                },
                figures=[figures["lifetime"]],
            ),
            Section(
                "Efficiency at fixed output rate, robustness and monotonicity",
                text=f"Signal efficiency at the cut keeping {' / '.join(retentions)} of the "
                "background test candidates (bootstrap errors); its change when the tracker "
                f"resolution is {config.degradation:g} times worse at test time with the same "
                "cut; falls of the output along each increasing feature on a grid of "
                f"{config.grid_points} points for {config.grid_events} test candidates, and "
                "wrong-way pairs found by robusthep.audit.verify (exported model for ours).",
                table=(header, rows),
                numbers={**rates, **drops},
                figures=[figures["roc"]],
            ),
            Section(
                "Efficiency vs decay time and sum pT",
                text="Signal efficiency at the looser working point in bins of the measured "
                "and true decay time and of sum pT. Only the monotonic network guarantees "
                "that, all else fixed, a longer-lived or harder candidate is never rejected "
                "where a shorter-lived or softer one passes.",
                figures=[figures["efficiency"]],
            ),
            Section(
                "Output along the monotone directions",
                text="The output of four test candidates as one increasing feature alone is "
                "scanned beyond the test range.",
                figures=[figures["scans"]],
            ),
        ],
        command=command,
    )
