"""The W-tagging study: mass-decorrelated taggers on W vs QCD jets, and a jet pT calibration
that does not depend on the training spectrum."""

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from robusthep.audit import DesignedDecorrelation, QuantileDecorrelation
from robusthep.calib import gaussian_prior_example, mse_calibration, prior_independent_calibration
from robusthep.errors import ConfigError, DataError
from robusthep.parallel import Executor
from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.sim import WJetsSettings, generate_wjets
from robusthep.studies.config import StudyConfig
from robusthep.studies.decorrelation import DecorrelationStudyConfig, run_decorrelation_study

__all__ = ["CalibrationConfig", "WtagConfig", "best_points", "jet_calibration", "run_wtag"]

Log = Callable[[str], None]
Table = Mapping[str, Any]

#: Substructure and kinematics the taggers see; never the protected mass (nor the groomed one).
FEATURES = (
    "jet_pt",
    "jet_eta",
    "jet_tau1",
    "jet_tau2",
    "jet_tau3",
    "jet_tau21",
    "jet_tau32",
    "jet_d2",
    "jet_n_constituents",
)
#: Columns that are the mass in another form: a tagger using them learns the mass directly.
MASS_LIKE = ("jet_mass", "jet_mass_sd")


def _silent(message: str) -> None:
    """Discard a progress message."""


class CalibrationConfig(StudyConfig):
    """The prior-independent calibration part of ``robusthep wtag``.

    The jet example regresses the hard process's pT (``pt_hat``: the W's pT for signal, the
    outgoing partons' for QCD) on the reconstructed jet pT. Two priors reweight the sample's
    truth spectrum by acceptance: falling, floor + (1 − floor)·(z_max − z)/(z_max − z_min),
    and rising, its mirror; both keep every pT (at least ``floor`` of the jets), so each
    calibration has examples everywhere it is applied.
    """

    floor: float = Field(0.1, gt=0, lt=1, description="the priors' least acceptance")
    hidden: tuple[int, ...] = (32, 32)
    steps: int = Field(3000, ge=1, description="gradient steps of each calibration")
    batch_size: int = Field(128, ge=2)
    lr: float = Field(3e-3, gt=0)
    truth_bins: int = Field(8, ge=2, description="bins of true pT for the bias figure")
    gaussian_events: int = Field(20_000, ge=100)
    gaussian_epochs: int = Field(10, ge=1)


def _default_decorrelation() -> DecorrelationStudyConfig:
    return DecorrelationStudyConfig(
        methods=("unconstrained", "disco", "mode", "modeloss", "adversary", "double_disco"),
        # MoDe's penalty is a squared CDF difference, ~100× smaller than DisCo's dCor² at
        # the same sculpting: its λ scan reaches 1000 (measured on the 12k sample).
        strengths={
            "disco": (1.0, 3.0, 10.0, 30.0),
            "mode": (10.0, 100.0, 300.0, 1000.0),
            "modeloss": (10.0, 100.0, 300.0, 1000.0),
            "adversary": (1.0, 10.0, 100.0),
            "double_disco": (0.0, 10.0, 100.0, 300.0),
        },
        mode_orders=(0, 1, 2),
        hidden=(64, 64),
        epochs=40,
        batch_size=1024,
        lr=2e-3,
        bootstrap=30,
        adversary_pretrain=10,
    )


class WtagConfig(StudyConfig):
    """The configuration of ``robusthep wtag``.

    Example:
        >>> WtagConfig.quick().events, WtagConfig().events
        (3000, 12000)
        >>> "jet_mass" in WtagConfig().features
        False
    """

    seed: int = 0
    events: int = Field(12_000, ge=100, description="Pythia events per process (cache key)")
    shard_events: int | None = Field(None, ge=1, description="events per shard (cache key)")
    fast: bool = True
    features: tuple[str, ...] = FEATURES
    mass_column: str = "jet_mass"
    weight_column: Literal["none", "weight_flat_pt", "weight"] = Field(
        "none",
        description="event weights of training and metrics: 'none' (the generated W and QCD "
        "pT spectra already agree), 'weight_flat_pt' (both flat in pT), 'weight' (physical)",
    )
    ddt_scaling: Literal["rho_prime", "rho"] = "rho_prime"
    quantile_bins: int = Field(10, ge=1, description="ρ′ bins of the τ21 percentile map")
    decorrelation: DecorrelationStudyConfig = Field(default_factory=_default_decorrelation)
    calibration: CalibrationConfig = CalibrationConfig()
    executor: Literal["local", "ray"] = "local"
    workers: int | None = Field(None, ge=1)

    @classmethod
    def quick(cls) -> "WtagConfig":
        """The demo size: the quick sample (3 195 jets), short λ scans, few epochs."""
        decorrelation = _default_decorrelation().model_copy(
            update={
                "strengths": {
                    "disco": (3.0, 30.0),
                    "mode": (30.0, 300.0),
                    "modeloss": (30.0, 300.0),
                    "adversary": (10.0,),
                    "double_disco": (0.0, 100.0),
                },
                "mode_orders": (0, 1),
                "hidden": (32, 32),
                "epochs": 15,
                "batch_size": 512,
                "bootstrap": 10,
                "adversary_steps": 2,
                "adversary_pretrain": 3,
            }
        )
        return cls(
            events=3_000,
            shard_events=1_000,
            decorrelation=decorrelation,
            calibration=CalibrationConfig(steps=1000, gaussian_events=4_000, gaussian_epochs=8),
        )

    def settings(self) -> WJetsSettings:
        """The sample's settings (the same as ``robusthep generate wjets`` for these keys)."""
        mapping: dict[str, Any] = {"events": self.events, "fast": self.fast}
        if self.shard_events is not None:
            mapping["shard_events"] = self.shard_events
        return WJetsSettings.from_mapping(mapping)


def _columns(table: Table, names: Sequence[str]) -> np.ndarray:
    missing = [name for name in names if name not in table]
    if missing:
        raise ConfigError(f"the wjets sample has no columns {missing}; it has {sorted(table)}")
    return np.stack([np.asarray(table[name], dtype=np.float64) for name in names], axis=1)


def _training_weights(table: Table, column: str) -> np.ndarray:
    """Per class normalised to mean 1, so signal and background count the same."""
    labels = np.asarray(table["label"])
    weights = np.ones(len(labels)) if column == "none" else np.array(table[column], float)
    for value in (0, 1):
        chosen = labels == value
        weights[chosen] /= weights[chosen].mean()
    return weights


def _check_features(config: WtagConfig) -> None:
    forbidden = sorted({config.mass_column, *MASS_LIKE} & set(config.features))
    if forbidden:
        raise ConfigError(
            f"features {forbidden} are the protected mass (or a form of it): a tagger that "
            "sees them learns the mass directly; remove them from `features`"
        )


def _ddt(config: WtagConfig) -> Callable[[Table, Table], np.ndarray]:
    def score(train: Table, test: Table) -> np.ndarray:
        ddt = DesignedDecorrelation.fit(
            train["tau21"],
            train["mass"],
            train["pt"],
            train["labels"],
            train["weights"],
            kind=config.ddt_scaling,
        )
        return -ddt.transform(test["tau21"], test["mass"], test["pt"])

    return score


def _quantile_map(config: WtagConfig) -> Callable[[Table, Table], np.ndarray]:
    def score(train: Table, test: Table) -> np.ndarray:
        flat = QuantileDecorrelation.fit(
            train["tau21"],
            train["mass"],
            train["pt"],
            train["labels"],
            train["weights"],
            bins=config.quantile_bins,
            kind=config.ddt_scaling,
        )
        return -flat.transform(test["tau21"], test["mass"], test["pt"])

    return score


def best_points(points: Sequence[Mapping[str, Any]], efficiency: int = 50) -> dict[str, int]:
    """Per label, the index of the point with the largest R_ε × 1/JSD_ε (infinite 1/JSD and
    R count as 10⁶, so a perfectly flat point wins among its method's).

    Example:
        >>> best_points([
        ...     {"label": "a", "metrics": {"R50": {"value": 10}, "inverse_jsd50": {"value": 5}}},
        ...     {"label": "a", "metrics": {"R50": {"value": 4}, "inverse_jsd50": {"value": 50}}},
        ... ])
        {'a': 1}
    """

    def value(point: Mapping[str, Any], name: str) -> float:
        found = point["metrics"][name]["value"]
        return 1e6 if found is None else found

    best: dict[str, int] = {}
    merit: dict[str, float] = {}
    for index, point in enumerate(points):
        if any(
            point["metrics"][n].get("undefined")
            for n in (f"R{efficiency}", f"inverse_jsd{efficiency}")
        ):
            continue
        found = value(point, f"R{efficiency}") * value(point, f"inverse_jsd{efficiency}")
        if point["label"] not in best or found > merit[point["label"]]:
            best[point["label"]], merit[point["label"]] = index, found
    return best


def _metric(entry: Mapping[str, Any]) -> dict[str, Any]:
    if entry.get("undefined"):
        return {
            "value": None,
            "unit": "1",
            "note": "undefined: no background passing in the mass bins",
        }
    if entry["value"] is None:
        return {
            "value": None,
            "unit": "1",
            "note": "infinite (no background passes, or identical pass and fail spectra)",
        }
    error = entry["error"]
    return quantity(entry["value"], "1", **({"error": error} if error is not None else {}))


def _point_results(point: Mapping[str, Any]) -> dict[str, Any]:
    stored: dict[str, Any] = {
        "method": point["method"],
        "label": point["label"],
        "strength": quantity(point["strength"], "1"),
        "order": None if point["order"] is None else quantity(point["order"], "1"),
        "metrics": {name: _metric(entry) for name, entry in point["metrics"].items()},
        "passing_background_mass": {
            efficiency: quantity(values, "events", note="weighted, per mass bin")
            for efficiency, values in point["passing_background_mass"].items()
        },
    }
    if "abcd" in point:
        abcd = point["abcd"]
        if "error" in abcd:
            stored["abcd"] = {"error": abcd["error"], "cuts": quantity(abcd["cuts"], "1")}
        else:
            stored["abcd"] = {
                "cuts": quantity(abcd["cuts"], "1"),
                "yields": {
                    r: quantity(v, "events", error=abcd["errors"][r])
                    for r, v in abcd["yields"].items()
                },
                "predicted_A": quantity(abcd["predicted"], "events"),
                "closure": quantity(abcd["closure"], "1", error=abcd["closure_error"]),
                "signal_efficiency_A": quantity(abcd["signal_efficiency_both"], "1"),
            }
    return stored


def _tilted(z: np.ndarray, floor: float, sign: int, rng: np.random.Generator) -> np.ndarray:
    """Accept each event with a probability linear in z from ``floor`` to 1, rising with z
    for ``sign`` > 0 and falling for ``sign`` < 0."""
    position = (z - z.min()) / (z.max() - z.min())
    if sign < 0:
        position = 1 - position
    return rng.random(len(z)) < floor + (1 - floor) * position


def jet_calibration(
    reco_pt: Any, true_pt: Any, config: CalibrationConfig, *, seed: int = 0
) -> dict[str, Any]:
    """MSE and prior-independent calibrations of jet pT, each trained on a falling and on a
    rising truth spectrum, and compared on falling and rising test spectra.

    The events are split in halves. From the first, two training samples are drawn with
    the priors of :class:`CalibrationConfig` (falling, rising); from the second, two test
    samples the same way, so the response p(reco | true) is the same everywhere and only the prior
    differs. A calibration is prior-independent when the two trainings give the same
    function.

    Arguments:
        reco_pt: reconstructed jet pT in GeV.
        true_pt: the truth pT in GeV.
        config: the priors' floor, the networks and their training.
        seed: splits, draws and trainings.

    Returns:
        ``events`` per sample; ``bias[method][trained on][test sample]``: mean calibrated −
        true (GeV, with its error) and mean relative bias; ``prior_dependence[method]
        [test sample]``: the mean of f_falling(reco) − f_rising(reco) (GeV) with its error;
        ``binned``: per method and training prior the mean relative bias in bins of true pT
        on the rising test sample, and the mean f_falling − f_rising in bins of reco pT;
        the spectra for the figure.

    References:
        Gambhir, Nachman, Thaler, arXiv:2205.05084.
    """
    x = np.asarray(reco_pt, dtype=np.float64).reshape(-1)
    z = np.asarray(true_pt, dtype=np.float64).reshape(-1)
    if x.shape != z.shape or not (np.isfinite(x).all() and np.isfinite(z).all()):
        raise DataError("reco and true pT must be finite and of the same length")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(z))
    halves = order[: len(z) // 2], order[len(z) // 2 :]
    priors = {"falling": -1, "rising": +1}
    train = {
        name: halves[0][_tilted(z[halves[0]], config.floor, s, rng)] for name, s in priors.items()
    }
    test = {
        name: halves[1][_tilted(z[halves[1]], config.floor, s, rng)] for name, s in priors.items()
    }
    options = {"hidden": config.hidden, "batch_size": config.batch_size, "lr": config.lr}
    calibrations: dict[str, dict[str, Callable[[torch.Tensor], torch.Tensor]]] = {
        "mse": {},
        "prior_independent": {},
    }
    for prior, rows in train.items():
        inputs = torch.as_tensor(x[rows], dtype=torch.float32)[:, None]
        truths = torch.as_tensor(z[rows], dtype=torch.float32)
        # The same number of steps for both priors, whatever their sample sizes.
        epochs = max(1, math.ceil(config.steps * config.batch_size / len(rows)))
        options.update(epochs=epochs, seed=seed)
        calibrations["mse"][prior] = mse_calibration(inputs, truths, **options)
        ansatz = prior_independent_calibration(inputs, truths, **options)
        calibrations["prior_independent"][prior] = ansatz.calibrate

    def apply(function: Callable[[torch.Tensor], torch.Tensor], rows: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            inputs = torch.as_tensor(x[rows], dtype=torch.float32)[:, None]
            return function(inputs).double().numpy()

    truth_edges = np.quantile(z[test["rising"]], np.linspace(0, 1, config.truth_bins + 1))
    reco_edges = np.quantile(x[halves[1]], np.linspace(0, 1, config.truth_bins + 1))
    results: dict[str, Any] = {
        "events": {
            **{f"train_{n}": len(r) for n, r in train.items()},
            **{f"test_{n}": len(r) for n, r in test.items()},
        },
        "truth_edges": truth_edges.tolist(),
        "reco_edges": reco_edges.tolist(),
        "spectra": {
            **{f"train_{n}": z[r].tolist() for n, r in train.items()},
            **{f"test_{n}": z[r].tolist() for n, r in test.items()},
        },
        "bias": {},
        "prior_dependence": {},
        "binned_bias": {},
        "binned_prior_dependence": {},
    }
    kinds = {"uncalibrated": {"falling": lambda inputs: inputs.reshape(-1)}, **calibrations}
    for kind, trained in kinds.items():
        for prior, function in trained.items():
            for name, rows in test.items():
                residual = apply(function, rows) - z[rows]
                relative = residual / z[rows]
                results["bias"].setdefault(kind, {}).setdefault(prior, {})[name] = {
                    "bias": float(residual.mean()),
                    "bias_error": float(residual.std() / math.sqrt(len(rows))),
                    "relative_bias": float(relative.mean()),
                    "relative_bias_error": float(relative.std() / math.sqrt(len(rows))),
                }
            rows = test["rising"]
            relative = (apply(function, rows) - z[rows]) / z[rows]
            results["binned_bias"].setdefault(kind, {})[prior] = _binned_mean(
                relative, z[rows], truth_edges
            )
    for kind in calibrations:
        for name, rows in test.items():
            difference = apply(calibrations[kind]["falling"], rows) - apply(
                calibrations[kind]["rising"], rows
            )
            results["prior_dependence"].setdefault(kind, {})[name] = {
                "value": float(difference.mean()),
                "error": float(difference.std() / math.sqrt(len(rows))),
            }
        rows = halves[1]
        difference = apply(calibrations[kind]["falling"], rows) - apply(
            calibrations[kind]["rising"], rows
        )
        results["binned_prior_dependence"][kind] = _binned_mean(difference, x[rows], reco_edges)
    return results


def _binned_mean(values: np.ndarray, by: np.ndarray, edges: np.ndarray) -> list[float]:
    bins = np.clip(np.digitize(by, edges[1:-1]), 0, len(edges) - 2)
    return [
        float(values[bins == b].mean()) if (bins == b).any() else math.nan
        for b in range(len(edges) - 1)
    ]


def _finite(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) else 0.0 for v in values]


def _calibration_results(jets: Mapping[str, Any], gaussian: Mapping[str, float]) -> dict[str, Any]:
    bias = {
        kind: {
            prior: {
                name: {
                    "bias": quantity(v["bias"], "GeV", error=v["bias_error"]),
                    "relative_bias": quantity(
                        v["relative_bias"], "1", error=v["relative_bias_error"]
                    ),
                }
                for name, v in tests.items()
            }
            for prior, tests in trained.items()
        }
        for kind, trained in jets["bias"].items()
    }
    return {
        "description": "jet pT calibration: reco jet pT -> pT of the hard process (pt_hat: the "
        "W's for signal, the partons' for QCD); each calibration trained on a falling and on a "
        "rising spectrum (first half of the jets) and tested on falling and rising spectra "
        "(second half); 'uncalibrated' is the reco pT itself",
        "jets": {
            "events": {k: quantity(v, "count") for k, v in jets["events"].items()},
            "bias": bias,
            "prior_dependence": {
                kind: {
                    name: quantity(
                        v["value"],
                        "GeV",
                        error=v["error"],
                        note="mean of f_trained_on_falling(reco) - f_trained_on_rising(reco)",
                    )
                    for name, v in tests.items()
                }
                for kind, tests in jets["prior_dependence"].items()
            },
            "binned_relative_bias_rising_test": {
                kind: {prior: quantity(_finite(v), "1") for prior, v in trained.items()}
                for kind, trained in jets["binned_bias"].items()
            },
            "truth_bin_edges": quantity(jets["truth_edges"], "GeV"),
            "binned_prior_dependence": {
                kind: quantity(_finite(v), "GeV")
                for kind, v in jets["binned_prior_dependence"].items()
            },
            "reco_bin_edges": quantity(jets["reco_edges"], "GeV"),
        },
        "gaussian": {key: quantity(value, "1") for key, value in gaussian.items()},
    }


def _pareto_figure(
    folder: RunFolder, points: Sequence[Mapping[str, Any]], pareto: Mapping[str, list[int]]
) -> str:
    path = folder.figure_path("pareto")
    markers = "osD^v<>ph*X"
    with figure(path, size=(8, 6.5)) as (_, ax):
        for index, label in enumerate(pareto):
            members = [i for i, p in enumerate(points) if p["label"] == label]
            rejection, flatness, r_err, f_err = [], [], [], []
            for i in members:
                metrics = points[i]["metrics"]
                r, f = metrics["R50"], metrics["inverse_jsd50"]
                if r["value"] is None or f["value"] is None:
                    continue
                rejection.append(r["value"])
                flatness.append(f["value"])
                r_err.append(r["error"] or 0.0)
                f_err.append(f["error"] or 0.0)
            colour = f"C{index % 10}"
            ax.errorbar(
                flatness,
                rejection,
                xerr=f_err,
                yerr=r_err,
                fmt=markers[index % len(markers)],
                color=colour,
                label=label,
                ms=6,
                capsize=2,
            )
            front = sorted(
                (
                    points[i]["metrics"]["inverse_jsd50"]["value"],
                    points[i]["metrics"]["R50"]["value"],
                )
                for i in pareto[label]
                if points[i]["metrics"]["inverse_jsd50"]["value"] is not None
                and points[i]["metrics"]["R50"]["value"] is not None
            )
            if len(front) > 1:
                ax.plot(*zip(*front, strict=True), color=colour, lw=1, alpha=0.7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("1/JSD at 50% signal efficiency (background mass, pass vs fail)")
        ax.set_ylabel("background rejection R50")
        ax.legend(fontsize=8, ncol=2)
    return folder.relative(path)


def _sculpting_figure(
    folder: RunFolder,
    points: Sequence[Mapping[str, Any]],
    chosen: Mapping[str, int],
    background: Sequence[float],
    total: float,
    edges: np.ndarray,
    efficiencies: Sequence[float],
) -> str:
    """Background mass of each chosen point after its cuts, unit-normalised; ``total`` is
    the test background's weight, so total/R_ε jets pass a cut."""
    path = folder.figure_path("sculpting")
    ncols = min(4, len(chosen))
    nrows = math.ceil(len(chosen) / ncols)
    centres = 0.5 * (edges[1:] + edges[:-1])
    inclusive = np.asarray(background, float)
    with figure(path, ncols=ncols, nrows=nrows, size=(4.2 * ncols, 3.6 * nrows)) as (_, axes):
        axes = np.atleast_1d(axes).reshape(-1)
        for ax, (label, index) in zip(axes, chosen.items(), strict=False):
            point = points[index]
            ax.hist(
                centres,
                edges,
                weights=inclusive / max(inclusive.sum(), 1e-12),
                color="0.8",
                label="all background",
            )
            for efficiency in efficiencies:
                key = f"{round(100 * efficiency)}"
                passing = np.asarray(point["passing_background_mass"][key], float)
                rejection = point["metrics"][f"R{key}"]["value"]
                if passing.sum() > 0 and rejection:
                    ax.hist(
                        centres,
                        edges,
                        weights=passing / passing.sum(),
                        histtype="step",
                        lw=1.5,
                        label=f"ε_S = {key}% ({total / rejection:.0f} jets pass)",
                    )
            strength = f", λ = {point['strength']:g}" if point["strength"] else ""
            ax.set_title(f"{label}{strength}", fontsize=10)
            ax.set_xlabel("jet mass [GeV]", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=7)
        for ax in axes[len(chosen) :]:
            ax.set_visible(False)
    return folder.relative(path)


def _abcd_figure(folder: RunFolder, points: Sequence[Mapping[str, Any]]) -> str | None:
    rows = [p for p in points if "abcd" in p and "closure" in p["abcd"]]
    if not rows:
        return None
    path = folder.figure_path("abcd")
    with figure(path, size=(6, 4.5)) as (_, ax):
        strengths = [p["strength"] for p in rows]
        positions = np.arange(len(rows))
        ax.errorbar(
            positions,
            [p["abcd"]["closure"] for p in rows],
            yerr=[p["abcd"]["closure_error"] for p in rows],
            fmt="o",
            capsize=3,
        )
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.set_xticks(positions, [f"λ = {s:g}" for s in strengths])
        ax.set_ylabel("ABCD closure N_B N_C / (N_D N_A)")
        ax.set_title("Double DisCo on background (test split)", fontsize=11)
    return folder.relative(path)


def _calibration_figure(
    folder: RunFolder, jets: Mapping[str, Any], gaussian: Mapping[str, float]
) -> str:
    path = folder.figure_path("calibration")
    names = {"mse": "MSE", "prior_independent": "prior-independent"}
    colours = {"uncalibrated": "C0", "mse": "C1", "prior_independent": "C2"}
    with figure(path, ncols=4, size=(21, 4.8)) as (_, (spectra, bias, dependence, toy)):
        for name, values in jets["spectra"].items():
            spectra.hist(
                values,
                bins=30,
                histtype="step",
                density=True,
                lw=1.5,
                label=name.replace("_", ", "),
            )
        spectra.set_xlabel("true pT [GeV]")
        spectra.set_ylabel("density")
        spectra.legend(fontsize=9)
        edges = np.asarray(jets["truth_edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        for kind, trained in jets["binned_bias"].items():
            for prior, values in trained.items():
                style = "-" if prior == "falling" else ":"
                label = "reco pT" if kind == "uncalibrated" else f"{names[kind]}, trained {prior}"
                bias.plot(centres, values, style, marker="o", color=colours[kind], label=label)
        bias.axhline(0, color="black", lw=1)
        bias.set_xlabel("true pT [GeV]")
        bias.set_ylabel("mean (calibrated − true) / true, rising test")
        bias.legend(fontsize=8)
        edges = np.asarray(jets["reco_edges"])
        centres = 0.5 * (edges[1:] + edges[:-1])
        for kind, values in jets["binned_prior_dependence"].items():
            dependence.plot(centres, values, marker="o", color=colours[kind], label=names[kind])
        dependence.axhline(0, color="black", lw=1)
        dependence.set_xlabel("reco pT [GeV]")
        dependence.set_ylabel("f_falling(reco) − f_rising(reco) [GeV]")
        dependence.set_title("prior dependence of the calibration", fontsize=11)
        dependence.legend(fontsize=9)
        kinds = ("mse", "prior_independent")
        measured = [gaussian[f"{k}_bias"] for k in kinds]
        errors = [gaussian[f"{k}_bias_error"] for k in kinds]
        toy.bar([0, 1], measured, yerr=errors, color=[colours[k] for k in kinds], capsize=4)
        toy.axhline(gaussian["analytic_mse_bias"], color="C1", ls="--", label="analytic MSE bias")
        toy.axhline(0, color="black", lw=1)
        toy.set_xticks([0, 1], ["MSE", "prior-independent"])
        toy.set_ylabel("mean bias on the shifted test prior")
        toy.set_title("Gaussian example", fontsize=11)
        toy.legend(fontsize=9)
    return folder.relative(path)


def _format(entry: Mapping[str, Any], digits: int = 3) -> str:
    if entry["value"] is None:
        return "∞"
    error = entry.get("error")
    text = f"{entry['value']:.{digits}g}"
    return f"{text} ± {error:.2g}" if error is not None else text


def _gev(entry: Mapping[str, Any]) -> str:
    return f"{entry['value']:+.1f} ± {entry['error']:.1f}"


def _percent(entry: Mapping[str, Any]) -> str:
    return f"{100 * entry['value']:+.2f} ± {100 * entry['error']:.2f}"


def _modeloss_rows(points: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    ours = {(p["order"], p["strength"]): p for p in points if p["method"] == "mode"}
    rows = []
    for point in points:
        if point["method"] != "modeloss":
            continue
        mine = ours.get((point["order"], point["strength"]))
        if mine is None:
            continue
        rows.append(
            [
                f"{point['order']}",
                f"{point['strength']:g}",
                _format(mine["metrics"]["R50"]),
                _format(point["metrics"]["R50"]),
                _format(mine["metrics"]["inverse_jsd50"]),
                _format(point["metrics"]["inverse_jsd50"]),
            ]
        )
    return rows


def run_wtag(
    config: WtagConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Run the W-tagging study: decorrelated taggers on W vs QCD jets and jet calibration.

    On the ``wjets`` sample (cached by its settings), with the jet mass protected: the
    λ scans of :func:`~robusthep.studies.decorrelation.run_decorrelation_study` (through
    the Executor), the plain τ21 and D2 taggers and the DDT-decorrelated τ21 fitted on the
    training background; R50 vs 1/JSD50 fronts in one figure, sculpting plots of the
    unconstrained tagger and of each method's best point, the ABCD closure of Double DisCo,
    our MoDe beside the authors' ``modeloss`` (skipped with a message when absent); then
    the jet pT calibration (MSE vs prior-independent, trained on one spectrum and tested on
    another) and the Gaussian example of arXiv:2205.05084.

    Arguments:
        config: the study's settings.
        folder: where results, figures and the report go.
        command: the command line that repeats the run (shown in the report).
        progress: show the generator's progress bar.
        log: called with a line saying what runs now.

    Returns:
        The results, also written to ``results.json``.

    References:
        DisCo arXiv:2001.05310; Double DisCo arXiv:2007.14400; MoDe arXiv:2010.09745;
        adversary arXiv:1611.01046, 1703.03507; DDT arXiv:1603.00027; calibration
        arXiv:2205.05084.
    """
    _check_features(config)
    started = time.perf_counter()
    folder.write_config(config.model_dump(mode="json"))
    executor = Executor(config.executor, workers=config.workers)
    settings = config.settings()
    log(f"wtag: wjets sample ({settings.events} events per process, cached by settings)")
    dataset = generate_wjets(settings, executor=executor, progress=progress)
    table = dataset.columns
    features = _columns(table, config.features)
    mass = np.asarray(table[config.mass_column], dtype=np.float64)
    labels = np.asarray(table["label"], dtype=np.float64)
    weights = _training_weights(table, config.weight_column)
    auxiliary = {
        "pt": np.asarray(table["jet_pt"], float),
        "tau21": np.asarray(table["jet_tau21"], float),
        "d2": np.asarray(table["jet_d2"], float),
    }
    baselines = {
        "τ21": lambda _, test: -test["tau21"],
        "D2": lambda _, test: -test["d2"],
        "τ21 DDT": _ddt(config),
        "τ21 ρ' percentile": _quantile_map(config),
    }
    points_total = 1 + sum(
        len(config.decorrelation.strengths.get(m, ()))
        * (len(config.decorrelation.mode_orders) if m in ("mode", "modeloss") else 1)
        for m in config.decorrelation.methods
        if m != "unconstrained"
    )
    log(f"wtag: {points_total} trainings on {len(labels)} jets ({executor!r})")
    tick = time.perf_counter()
    study = run_decorrelation_study(
        features,
        labels,
        weights,
        mass,
        config.decorrelation,
        auxiliary=auxiliary,
        baselines=baselines,
        map_fn=executor.map,
        log=log,
    )
    scan_seconds = time.perf_counter() - tick
    points = study["points"]
    chosen = best_points(points)
    log("wtag: jet pT calibration and the Gaussian example")
    tick = time.perf_counter()
    jets = jet_calibration(table["jet_pt"], table["pt_hat"], config.calibration, seed=config.seed)
    gaussian = gaussian_prior_example(
        events=config.calibration.gaussian_events,
        epochs=config.calibration.gaussian_epochs,
        seed=config.seed,
    )
    calibration_seconds = time.perf_counter() - tick
    edges = np.asarray(config.decorrelation.mass_bins)
    results: dict[str, Any] = {
        "description": "W (signal) vs QCD (background) jet taggers decorrelated from the jet "
        f"mass ({config.mass_column}); metrics on a test split with "
        f"{config.decorrelation.bootstrap} bootstrap resamples; weights "
        f"{config.weight_column} normalised per class",
        "sample": {"path": str(dataset.path), "jets": quantity(len(labels), "count")},
        "features": list(config.features),
        "events": {k: quantity(v, "count") for k, v in study["events"].items()},
        "points": [_point_results(p) for p in points],
        "pareto": {
            label: quantity(indices, "count", note="indices into points")
            for label, indices in study["pareto"].items()
        },
        "best": {
            label: quantity(index, "count", note="index into points: largest R50 × 1/JSD50")
            for label, index in chosen.items()
        },
        "skipped": study["skipped"],
        "background_mass": quantity(study["background_mass"], "events", edges=edges.tolist()),
        "calibration": _calibration_results(jets, gaussian),
        "timings": {},
    }
    figures = [
        _pareto_figure(folder, points, study["pareto"]),
        _sculpting_figure(
            folder,
            points,
            chosen,
            study["background_mass"],
            study["background_weight"],
            edges,
            config.decorrelation.efficiencies,
        ),
    ]
    abcd_figure = _abcd_figure(folder, points)
    calibration_figure = _calibration_figure(folder, jets, gaussian)
    results["timings"] = {
        "scan": quantity(scan_seconds, "s"),
        "calibration": quantity(calibration_seconds, "s"),
        "total": quantity(time.perf_counter() - started, "s"),
    }
    folder.write_results(results)
    folder.write_report(
        title="W tagging: decorrelation from the jet mass, and prior-independent calibration",
        sections=_sections(results, points, chosen, figures, abcd_figure, calibration_figure),
        command=command,
    )
    return results


def _sections(
    results: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    chosen: Mapping[str, int],
    figures: Sequence[str],
    abcd_figure: str | None,
    calibration_figure: str,
) -> list[Section]:
    rows = []
    for index, point in enumerate(points):
        metrics = point["metrics"]
        rows.append(
            [
                point["label"],
                f"{point['strength']:g}" if point["method"] in _TRAINED else "–",
                _format(metrics["auc"]),
                _format(metrics["R50"]),
                _format(metrics["inverse_jsd50"]),
                _format(metrics["R20"]) if "R20" in metrics else "",
                _format(metrics["inverse_jsd20"]) if "inverse_jsd20" in metrics else "",
                "best" if chosen.get(point["label"]) == index else "",
            ]
        )
    sections = [
        Section(
            "Taggers decorrelated from the jet mass",
            text="Each point is one training (or a designed tagger: τ21 and D2 alone, τ21 DDT "
            "and the τ21 percentile among background jets of the same ρ′, both fitted on the "
            "training background), evaluated on the test split. R50: "
            "background rejection at 50% signal efficiency; 1/JSD50: inverse Jensen–Shannon "
            "divergence (log 2) of the background mass spectra passing and failing that cut "
            "(50 bins of 5 GeV from 50 to 300 GeV); ± bootstrap. Lines join each method's "
            "Pareto front. 'best' marks the point with the largest R50 × 1/JSD50, shown in "
            "the sculpting plots with the unconstrained tagger.",
            table=(
                ["tagger", "λ", "AUC", "R50", "1/JSD50", "R20", "1/JSD20", ""],
                rows,
            ),
            numbers={"scan time": results["timings"]["scan"]},
            figures=figures,
        )
    ]
    abcd_rows = []
    for point in points:
        abcd = point.get("abcd")
        if abcd is None:
            continue
        if "error" in abcd:
            abcd_rows.append([f"{point['strength']:g}", "–", "–", abcd["error"], "–"])
            continue
        abcd_rows.append(
            [
                f"{point['strength']:g}",
                f"{abcd['yields']['A']:.1f} ± {abcd['errors']['A']:.1f}",
                f"{abcd['predicted']:.1f}",
                f"{abcd['closure']:.3g} ± {abcd['closure_error']:.2g}",
                f"{abcd['signal_efficiency_both']:.2f}",
            ]
        )
    if abcd_rows:
        sections.append(
            Section(
                "Double DisCo: ABCD closure",
                text="Two networks f and g trained with BCE each plus λ·dCor²(f, g) on "
                "background; cuts on each at the configured signal efficiency. A: both pass "
                "(the signal region). Closure N_B·N_C/(N_D·N_A) on the test background with "
                "Poisson errors (√Σw² per region); λ = 0 are two unconstrained taggers, "
                "strongly correlated.",
                table=(
                    ["λ", "true N_A", "predicted N_B·N_C/N_D", "closure", "signal eff. in A"],
                    abcd_rows,
                ),
                figures=[abcd_figure] if abcd_figure else [],
            )
        )
    modeloss_rows = _modeloss_rows(points)
    skipped = results["skipped"].get("modeloss")
    sections.append(
        Section(
            "Our MoDe beside the authors' modeloss",
            text=(
                f"Skipped: {skipped}"
                if skipped
                else "The same network, data, seed and batches, with our mode_loss or "
                "modeloss.pytorch.MoDeLoss (32 mass bins, background weights normalised "
                "to mean 1 for both). With equal weights (weight_column = 'none', the "
                "default) the two losses and gradients are equal to float rounding, so the "
                "points differ only by rounding grown through training; with unequal weights "
                "they differ inside a mass bin: we weight the score CDF by the events' "
                "weights, modeloss uses the bin's mean weight."
            ),
            table=(
                ["order", "λ", "R50 ours", "R50 modeloss", "1/JSD50 ours", "1/JSD50 modeloss"],
                modeloss_rows,
            )
            if modeloss_rows
            else None,
        )
    )
    calibration = results["calibration"]
    table = []
    names = {"uncalibrated": "reco pT", "mse": "MSE", "prior_independent": "prior-independent"}
    for kind, trained in calibration["jets"]["bias"].items():
        for prior, tests in trained.items():
            table.append(
                [
                    names[kind],
                    "–" if kind == "uncalibrated" else prior,
                    *(_gev(tests[name]["bias"]) for name in ("falling", "rising")),
                    _percent(tests["rising"]["relative_bias"]),
                ]
            )
    dependence = calibration["jets"]["prior_dependence"]
    gaussian = calibration["gaussian"]
    sections.append(
        Section(
            "Prior-independent calibration (arXiv:2205.05084)",
            text="Jets: the reconstructed jet pT calibrated to the hard process's pT (pt_hat), "
            "each calibration trained once on a falling and once on a rising truth spectrum "
            "(drawn from the first half of the jets) and tested on a falling and a rising one "
            "(second half): the response is the same, only the prior differs. The MSE "
            "calibration E[true | reco] follows its training spectrum; the maximum-likelihood "
            "one (Gaussian Ansatz) should not. The bias at fixed true pT also carries the "
            "selection of reco jets to 250–1000 GeV (at the edges only upward, resp. downward, "
            "fluctuations pass), which no calibration of reco pT alone can undo. Gaussian "
            "example: z ~ N(0, 1) for training, N(1, 1) for testing, x = z + N(0, 1); the "
            "analytic MSE bias is −0.5.",
            table=(
                [
                    "calibration",
                    "trained on",
                    "bias, falling test [GeV]",
                    "bias, rising test [GeV]",
                    "relative bias, rising test [%]",
                ],
                table,
            ),
            numbers={
                "MSE: f_falling − f_rising, rising test": dependence["mse"]["rising"],
                "prior-independent: f_falling − f_rising, rising test": dependence[
                    "prior_independent"
                ]["rising"],
                "MSE: f_falling − f_rising, falling test": dependence["mse"]["falling"],
                "prior-independent: f_falling − f_rising, falling test": dependence[
                    "prior_independent"
                ]["falling"],
                "Gaussian: analytic MSE bias": gaussian["analytic_mse_bias"],
                "Gaussian: MSE bias": gaussian["mse_bias"],
                "Gaussian: prior-independent bias": gaussian["prior_independent_bias"],
                "Gaussian: learned resolution (true 1)": gaussian["resolution"],
            },
            figures=[calibration_figure],
        )
    )
    return sections


_TRAINED = ("unconstrained", "disco", "mode", "modeloss", "adversary", "double_disco")
