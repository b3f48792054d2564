"""The three toy demonstrations: a robust fit, a monotonic fit through gaps, two moons."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from pydantic import Field

from robusthep.losses import certified_radius, lipschitz_margin_loss
from robusthep.nn import MonotonicWrapper, lipschitz_mlp
from robusthep.report import RunFolder, Section, figure, quantity
from robusthep.studies._common import count_violations, mse_loss, relu_mlp, seeded
from robusthep.studies.config import StudyConfig
from robusthep.train import fit

__all__ = [
    "MonotonicToyConfig",
    "MoonsToyConfig",
    "OutlierToyConfig",
    "ToysConfig",
    "run_toys",
    "two_moons",
]

#: The toys' inputs and outputs carry no physical unit.
ARBITRARY = "a.u."

Log = Callable[[str], None]


def _silent(message: str) -> None:
    """Discard a progress message."""


class OutlierToyConfig(StudyConfig):
    """1-d regression of y = 0.4 sin(2x) + 0.2x on [−1, 1] with one extreme outlier."""

    n_points: int = Field(60, ge=5)
    noise: float = Field(0.03, ge=0)
    outlier_shift: float = 3.0
    lipschitz: float = Field(1.5, gt=0)
    hidden: tuple[int, ...] = (32, 32)
    epochs: int = Field(1000, ge=1)
    lr: float = Field(1e-2, gt=0)


class MonotonicToyConfig(StudyConfig):
    """Noisy data of an increasing function on [0, 1] with gaps holding no training data."""

    n_points: int = Field(40, ge=5)
    noise: float = Field(0.1, ge=0)
    gaps: tuple[tuple[float, float], ...] = ((0.2, 0.4), (0.6, 0.8))
    lipschitz: float = Field(2.0, gt=0)
    hidden: tuple[int, ...] = (32, 32)
    mlp_hidden: tuple[int, ...] = (64, 64)
    seeds: int = Field(5, ge=1)
    epochs: int = Field(2000, ge=1)
    lr: float = Field(1e-2, gt=0)
    grid_points: int = Field(1501, ge=3)


class MoonsToyConfig(StudyConfig):
    """Two-moons classification with a 1-Lipschitz (ℓ2) network and the hinge loss."""

    n_train: int = Field(1000, ge=10)
    n_test: int = Field(2000, ge=10)
    noise: float = Field(0.1, ge=0)
    margin: float = Field(0.15, gt=0)
    lipschitz: float = Field(1.0, gt=0)
    hidden: tuple[int, ...] = (32, 32, 32)
    epochs: int = Field(200, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(5e-3, gt=0)
    radii: tuple[float, ...] = (0.05, 0.1, 0.2)


class ToysConfig(StudyConfig):
    """The configuration of ``robusthep toys``.

    Example:
        >>> ToysConfig.quick().monotonic.seeds
        3
    """

    seed: int = 0
    outlier: OutlierToyConfig = OutlierToyConfig()
    monotonic: MonotonicToyConfig = MonotonicToyConfig()
    moons: MoonsToyConfig = MoonsToyConfig()

    @classmethod
    def quick(cls) -> "ToysConfig":
        """Fewer epochs and seeds: the whole study in well under a minute on one core."""
        return cls(
            outlier=OutlierToyConfig(epochs=600),
            monotonic=MonotonicToyConfig(seeds=3),
            moons=MoonsToyConfig(n_train=600, n_test=1000, epochs=80),
        )


def _outlier_truth(x: torch.Tensor) -> torch.Tensor:
    return 0.4 * torch.sin(2 * x) + 0.2 * x


def _monotonic_truth(x: torch.Tensor) -> torch.Tensor:
    # Increasing (slope ≥ 0.1) but with a wave that noise can make look decreasing locally.
    return x + 0.9 * torch.sin(2 * math.pi * x) / (2 * math.pi)


def _rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean().sqrt())


def _predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x).reshape(-1)


def two_moons(n: int, *, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles, the classic two-class toy.

    Class 0: (cos θ, sin θ); class 1: (1 − cos θ, 0.5 − sin θ), θ ~ U[0, π], plus Gaussian
    noise of standard deviation ``noise`` in each coordinate. Without noise the classes are
    apart, so a perfect classifier exists.

    Arguments:
        n: the number of points; each one's class is drawn with probability ½.
        noise: the standard deviation of the noise.
        seed: the seed of the generator.

    Returns:
        ``(x, labels)``: points (n, 2) in float32 and labels (n,) in {0, 1}.

    Example:
        >>> x, y = two_moons(4, seed=1)
        >>> x.shape, y.tolist()
        (torch.Size([4, 2]), [1, 1, 0, 0])
    """
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=generator)
    theta = torch.rand(n, generator=generator) * math.pi
    upper = torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    lower = torch.stack([1 - torch.cos(theta), 0.5 - torch.sin(theta)], dim=1)
    x = torch.where(labels[:, None] == 0, upper, lower)
    return x + noise * torch.randn(n, 2, generator=generator), labels


def _outlier_toy(
    config: OutlierToyConfig, seed: int, folder: RunFolder, progress: bool
) -> tuple[dict[str, Any], Section]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.linspace(-1, 1, config.n_points).unsqueeze(1)
    y = _outlier_truth(x) + config.noise * torch.randn(x.shape, generator=generator)
    outlier = config.n_points // 2
    y[outlier] += config.outlier_shift
    clean = torch.ones(config.n_points, dtype=torch.bool)
    clean[outlier] = False
    grid = torch.linspace(-1, 1, 2001).unsqueeze(1)
    models = {
        "lipschitz": seeded(
            lambda: lipschitz_mlp(1, hidden=config.hidden, lipschitz=config.lipschitz), seed
        ),
        "mlp": seeded(lambda: relu_mlp(1, config.hidden), seed),
    }
    results: dict[str, Any] = {
        "description": "1-d regression, one outlier shifted by outlier_shift; errors are "
        "against the true function, at the clean training points and on a 2001-point grid "
        "over [-1, 1]",
        "outlier_shift": quantity(config.outlier_shift, ARBITRARY),
    }
    curves = {}
    for name, model in models.items():
        fit(
            model,
            mse_loss,
            train=(x, y),
            epochs=config.epochs,
            batch_size=config.n_points,
            lr=config.lr,
            seed=seed,
            progress=progress,
        )
        at_points = _predict(model, x)
        curves[name] = _predict(model, grid)
        truth_grid = _outlier_truth(grid).reshape(-1)
        results[name] = {
            "rmse_clean_points": quantity(
                _rmse(at_points[clean], _outlier_truth(x).reshape(-1)[clean]), ARBITRARY
            ),
            "rmse_domain": quantity(_rmse(curves[name], truth_grid), ARBITRARY),
            "max_error_domain": quantity(float((curves[name] - truth_grid).abs().max()), ARBITRARY),
            "shift_at_outlier": quantity(
                float(at_points[outlier] - _outlier_truth(x[outlier]).reshape(())), ARBITRARY
            ),
        }
    results["lipschitz"]["lipschitz_bound"] = quantity(models["lipschitz"].lipschitz_bound(), "1")

    path = folder.figure_path("outlier")
    with figure(path) as (_, ax):
        ax.plot(grid, _outlier_truth(grid), color="black", lw=1, ls="--", label="true function")
        ax.plot(grid, curves["mlp"], color="tab:red", label="unconstrained MLP")
        ax.plot(
            grid,
            curves["lipschitz"],
            color="tab:blue",
            label=f"Lipschitz NN (λ = {config.lipschitz:g})",
        )
        ax.scatter(x[clean], y[clean], s=12, color="gray", label="data")
        ax.scatter(x[outlier], y[outlier], s=40, marker="*", color="tab:orange", label="outlier")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize=11)
    section = Section(
        "Robust regression with one outlier",
        text="An unconstrained MLP goes through every point, the outlier included; the "
        "Lipschitz network cannot rise faster than its bound λ, so the outlier moves it "
        "only a little. Errors are against the true function: over the whole interval (the "
        "prediction between the points) and at the clean training points (where the MLP, "
        "which interpolates the data, is close to them).",
        numbers={
            "Lipschitz NN: RMSE over the interval": results["lipschitz"]["rmse_domain"],
            "MLP: RMSE over the interval": results["mlp"]["rmse_domain"],
            "Lipschitz NN: largest error": results["lipschitz"]["max_error_domain"],
            "MLP: largest error": results["mlp"]["max_error_domain"],
            "Lipschitz NN: RMSE at the clean points": results["lipschitz"]["rmse_clean_points"],
            "MLP: RMSE at the clean points": results["mlp"]["rmse_clean_points"],
        },
        figures=[folder.relative(path)],
    )
    return results, section


def _gap_data(config: MonotonicToyConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.empty(0)
    while len(x) < config.n_points:
        draw = torch.rand(4 * config.n_points, generator=generator)
        outside = torch.ones_like(draw, dtype=torch.bool)
        for low, high in config.gaps:
            outside &= (draw < low) | (draw > high)
        x = torch.cat([x, draw[outside]])
    x = x[: config.n_points].sort().values.unsqueeze(1)
    y = _monotonic_truth(x) + config.noise * torch.randn(x.shape, generator=generator)
    return x, y


def _monotonic_toy(
    config: MonotonicToyConfig, seed: int, folder: RunFolder, progress: bool, log: Log
) -> tuple[dict[str, Any], Section]:
    x, y = _gap_data(config, seed)
    grid = torch.linspace(-0.25, 1.25, config.grid_points).unsqueeze(1)
    builders = {
        "monotonic": lambda: MonotonicWrapper(
            lipschitz_mlp(1, hidden=config.hidden, lipschitz=config.lipschitz), increasing=[0]
        ),
        "mlp": lambda: relu_mlp(1, config.mlp_hidden),
    }
    results: dict[str, Any] = {
        "description": "fits of noisy increasing data with gaps, one per seed; a violation is "
        f"a step of a {config.grid_points}-point grid over [-0.25, 1.25] where the fit "
        "decreases by more than 1e-9 (evaluated in float64)",
        "gaps": [quantity(list(gap), ARBITRARY) for gap in config.gaps],
        "grid_steps": quantity(config.grid_points - 1, "count"),
    }
    curves: dict[str, list[torch.Tensor]] = {name: [] for name in builders}
    for name, build in builders.items():
        violations, rmses = [], []
        for index in range(config.seeds):
            log(f"monotonic toy: {name}, seed {index + 1}/{config.seeds}")
            model = seeded(build, seed + index)
            fit(
                model,
                mse_loss,
                train=(x, y),
                epochs=config.epochs,
                batch_size=len(x),
                lr=config.lr,
                seed=seed + index,
                progress=progress,
            )
            count, _ = count_violations(model, torch.zeros(1, 1), 0, grid.reshape(-1), sign=1)
            violations.append(count)
            curves[name].append(_predict(model, grid))
            rmses.append(_rmse(curves[name][-1], _monotonic_truth(grid).reshape(-1)))
        results[name] = {
            "violations": quantity(violations, "count", note="one per seed"),
            "violations_total": quantity(sum(violations), "count"),
            "seeds_with_violations": quantity(sum(v > 0 for v in violations), "count"),
            "rmse_domain": quantity(float(np.mean(rmses)), ARBITRARY, std=float(np.std(rmses))),
        }

    path = folder.figure_path("monotonic")
    titles = {"mlp": "unconstrained MLP", "monotonic": f"monotonic NN (λ = {config.lipschitz:g})"}
    colors = {"mlp": "tab:red", "monotonic": "tab:blue"}
    with figure(path, ncols=2, size=(12, 5)) as (_, axes):
        for ax, name in zip(axes, ("mlp", "monotonic"), strict=True):
            for low, high in config.gaps:
                ax.axvspan(low, high, color="0.9")
            for curve in curves[name]:
                ax.plot(grid, curve, color=colors[name], alpha=0.3, lw=1)
            ax.plot(
                grid,
                torch.stack(curves[name]).mean(dim=0),
                color=colors[name],
                lw=2.5,
                label="mean over seeds",
            )
            ax.scatter(x, y, s=12, color="black", label="data")
            ax.set_title(
                f"{titles[name]}: {results[name]['violations_total']['value']} violations",
                fontsize=13,
            )
            ax.set_xlabel("x")
            ax.set_ylabel("y")
            ax.legend(fontsize=11, loc="upper left")
    section = Section(
        "Monotonic fit through gaps in the data",
        text="The gray bands hold no training data; light lines are fits with different "
        "seeds, dark lines their mean. The MLP follows the noise and turns over in the gaps "
        "and beyond the data; the monotonic network cannot decrease anywhere, by "
        "construction. Violations are counted on a dense grid, per seed.",
        numbers={
            "monotonic NN: violations per seed": results["monotonic"]["violations"],
            "MLP: violations per seed": results["mlp"]["violations"],
            "monotonic NN: RMSE vs truth": results["monotonic"]["rmse_domain"],
            "MLP: RMSE vs truth": results["mlp"]["rmse_domain"],
        },
        figures=[folder.relative(path)],
    )
    return results, section


def _moons_toy(
    config: MoonsToyConfig, seed: int, folder: RunFolder, progress: bool
) -> tuple[dict[str, Any], Section]:
    x, labels = two_moons(config.n_train, noise=config.noise, seed=seed)
    x_test, labels_test = two_moons(config.n_test, noise=config.noise, seed=seed + 1)
    model = seeded(
        lambda: lipschitz_mlp(
            2, hidden=config.hidden, lipschitz=config.lipschitz, input_norm="two"
        ),
        seed,
    )

    def hinge(model: torch.nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return lipschitz_margin_loss(model(batch[0]), batch[1], margin=config.margin)

    fit(
        model,
        hinge,
        train=(x, labels),
        epochs=config.epochs,
        batch_size=config.batch_size,
        lr=config.lr,
        seed=seed,
        progress=progress,
    )
    bound = model.lipschitz_bound()
    scores = _predict(model, x_test)
    correct = (scores > 0).long() == labels_test
    # A wrongly classified point has no certified radius: count it as 0.
    radii = torch.where(correct, certified_radius(scores, lipschitz=bound), 0.0)
    quantiles = {f"q{int(q * 100):02d}": float(torch.quantile(radii, q)) for q in (0.1, 0.5, 0.9)}
    results = {
        "description": "hinge loss max(0, m - y*f) with an l2 Lipschitz network; radius = "
        "|f|/L in the input's l2 norm, 0 for misclassified test points",
        "lipschitz_bound": quantity(bound, "1", norm="l2 -> |.|"),
        "margin": quantity(config.margin, ARBITRARY),
        "accuracy": quantity(float(correct.float().mean()), "1"),
        "certified_radius": {
            name: quantity(value, ARBITRARY, quantile=int(name[1:]) / 100)
            for name, value in quantiles.items()
        },
        "certified_accuracy": {
            f"radius_{radius:g}": quantity(
                float((radii > radius).float().mean()), "1", radius=radius
            )
            for radius in config.radii
        },
    }

    boundary = folder.figure_path("moons_decision")
    with figure(boundary) as (_, ax):
        u, v = np.meshgrid(np.linspace(-1.6, 2.6, 200), np.linspace(-1.2, 1.7, 160))
        points = torch.tensor(np.stack([u.ravel(), v.ravel()], axis=1), dtype=torch.float32)
        surface = _predict(model, points).reshape(u.shape).numpy()
        filled = ax.contourf(u, v, surface, levels=20, cmap="coolwarm")
        ax.contour(u, v, surface, levels=[0.0], colors="black")
        ax.figure.colorbar(filled, ax=ax, label="network output f(x)")
        shown = slice(0, 400)
        ax.scatter(
            x_test[shown, 0],
            x_test[shown, 1],
            c=labels_test[shown],
            cmap="coolwarm",
            edgecolors="black",
            s=12,
        )
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    histogram = folder.figure_path("moons_radii")
    with figure(histogram) as (_, ax):
        ax.hist(radii.numpy(), bins=40, color="tab:blue", histtype="stepfilled", alpha=0.7)
        ax.axvline(config.margin / bound, color="black", ls="--", label="margin / L")
        ax.set_xlabel("certified radius (ℓ2)")
        ax.set_ylabel("test points")
        ax.legend(fontsize=11)
    section = Section(
        "Two moons with the hinge loss",
        text="A 1-Lipschitz classifier trained with the hinge loss max(0, m − y·f). Each test "
        "point's certified radius |f(x)|/L is a distance within which no perturbation can "
        "change its class; misclassified points count as radius 0.",
        numbers={
            "accuracy": results["accuracy"],
            **{f"radius quantile {k[1:]}%": v for k, v in results["certified_radius"].items()},
            **{
                f"certified accuracy at radius {v['radius']:g}": v
                for v in results["certified_accuracy"].values()
            },
        },
        figures=[folder.relative(boundary), folder.relative(histogram)],
    )
    return results, section


def run_toys(
    config: ToysConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Run the three toys and write their results, figures and report into ``folder``.

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
        >>> tiny = ToysConfig(outlier=OutlierToyConfig(n_points=10, epochs=2),
        ...     monotonic=MonotonicToyConfig(n_points=10, seeds=1, epochs=2, grid_points=11),
        ...     moons=MoonsToyConfig(n_train=20, n_test=20, epochs=1))
        >>> results = run_toys(tiny, RunFolder(tempfile.mkdtemp()))
        >>> results["monotonic"]["monotonic"]["violations_total"]
        {'value': 0, 'unit': 'count'}

    References:
        Kitouni, Nolte, Williams, "Robust and Provably Monotonic Networks",
        arXiv:2112.00038; "Expressive Monotonic Neural Networks", arXiv:2307.07512.
    """
    folder.write_config(config.model_dump(mode="json"))
    log("toys: robust regression with an outlier")
    outlier, outlier_section = _outlier_toy(config.outlier, config.seed, folder, progress)
    log("toys: monotonic fit through gaps")
    monotonic, monotonic_section = _monotonic_toy(
        config.monotonic, config.seed, folder, progress, log
    )
    log("toys: two moons with the hinge loss")
    moons, moons_section = _moons_toy(config.moons, config.seed, folder, progress)
    results = {
        "study": "toys",
        "units": "a.u. = arbitrary units of the toys' x and y; '1' = dimensionless",
        "outlier": outlier,
        "monotonic": monotonic,
        "moons": moons,
    }
    folder.write_results(results)
    folder.write_report(
        title="robusthep toys: robust, monotonic and certified networks",
        sections=[outlier_section, monotonic_section, moons_section],
        command=command,
    )
    return results
