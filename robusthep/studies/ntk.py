"""The ``ntk`` study: finite ensembles vs the infinite-width prediction, vs training size."""

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from pydantic import Field

from robusthep.errors import ConfigError
from robusthep.parallel import EXECUTOR_KINDS, Executor
from robusthep.report import RunFolder, Section, quantity
from robusthep.studies.config import StudyConfig
from robusthep.uq.figures import plot_ensemble_study
from robusthep.uq.study import EnsembleStudy, ensemble_study

__all__ = ["NTK_DATASETS", "NtkConfig", "load_regression", "run_ntk"]

Log = Callable[[str], None]

#: The data sets of the study: name → one line saying what is regressed.
NTK_DATASETS = {
    "digits": "scikit-learn 8×8 digits: pixels/16 → one-hot class − 0.1 (10 outputs)",
    "higgs": "H→ττ and Z→ττ events (robusthep higgs, quick sample): 8 standardised "
    "reconstructed features (log of visible mass, mT, pT's, MET; ΔR) → generator-level ττ "
    "mass, standardised",
    "diabetes": "scikit-learn diabetes: 10 standardised clinical features → disease "
    "progression after one year, standardised",
}

_HIGGS_FEATURES = (
    "mass_vis",
    "mass_transverse_met_lep",
    "had_pt",
    "lep_pt",
    "met",
    "pt_h",
    "sum_pt",
    "deltar_had_lep",
)


def _silent(message: str) -> None:
    """Discard a progress message."""


def _standardise(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    scale = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def load_regression(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One of :data:`NTK_DATASETS` as ``(inputs (N, d), targets (N, k))``, float64.

    The Higgs set reads the cached quick ``higgs`` sample (generating it if missing) and
    keeps the ττ processes, whose generator-level mass (91 or 125 GeV, smeared by the Z
    width) the visible decay products only partly reveal.

    Example:
        >>> x, y = load_regression("diabetes")
        >>> x.shape, y.shape
        ((442, 10), (442, 1))
    """
    if name not in NTK_DATASETS:
        raise ConfigError(f"unknown data set {name!r}; valid: {', '.join(NTK_DATASETS)}")
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        return digits.data / 16.0, np.eye(10)[digits.target] - 0.1
    if name == "diabetes":
        from sklearn.datasets import load_diabetes

        diabetes = load_diabetes()
        return _standardise(diabetes.data), _standardise(diabetes.target[:, None])
    from robusthep.sim import generate_higgs
    from robusthep.sim.higgs import HiggsSettings

    columns = generate_higgs(HiggsSettings.quick(), progress=False).columns
    keep = np.isin(np.asarray(columns["process"]), ["htautau", "ztautau"])
    features = np.stack([np.asarray(columns[f])[keep] for f in _HIGGS_FEATURES], axis=1)
    # Masses and momenta have long tails: their logarithms standardise better.
    features[:, :-1] = np.log1p(np.clip(features[:, :-1], 0.0, None))
    target = np.asarray(columns["true_mass"])[keep][:, None]
    finite = np.isfinite(features).all(axis=1) & np.isfinite(target[:, 0])
    return _standardise(features[finite]), _standardise(target[finite])


class NtkConfig(StudyConfig):
    """The configuration of ``robusthep ntk``.

    Every data set is split once (seeded) into a test set of ``test_examples`` (at most a
    third of the set) and a training pool; training sets are the first n of the pool, and
    sizes larger than the pool are skipped.

    Example:
        >>> NtkConfig.quick().members
        6
    """

    seed: int = 0
    executor: str = Field("local", description=f"one of {', '.join(EXECUTOR_KINDS)}")
    workers: int | None = Field(None, ge=1)
    datasets: tuple[str, ...] = tuple(NTK_DATASETS)
    sizes: tuple[int, ...] = (25, 50, 100, 200, 400)
    test_examples: int = Field(300, ge=2)
    members: int = Field(12, ge=2)
    width: int = Field(512, ge=1)
    depth: int = Field(1, ge=1)
    activation: str = "relu"
    w_std: float = Field(1.5, gt=0)
    b_std: float = Field(0.1, ge=0)
    steps: int = Field(300, ge=1)

    @classmethod
    def quick(cls) -> "NtkConfig":
        """Four sizes, six members of width 256: well under a minute on one core."""
        return cls(sizes=(25, 50, 100, 200), members=6, width=256, steps=200, test_examples=200)


def run_ntk(
    config: NtkConfig,
    folder: RunFolder,
    *,
    command: str | None = None,
    progress: bool = False,
    log: Log = _silent,
) -> dict[str, Any]:
    """Finite ensembles vs the infinite-width prediction on three regressions, into ``folder``.

    For every data set and training-set size n, ``members`` networks (NTK parametrisation,
    differing only in their initial weights) are trained by full-batch gradient descent on
    the squared error through the Executor; their test losses give μ_L, σ_L and
    CV = σ_L/μ_L, compared with the exact moments of the infinite-width Gaussian at the
    same training time (:func:`~robusthep.uq.study.ensemble_study`).

    Arguments:
        config: what to run.
        folder: the run folder.
        command: the command line that reproduces the run, shown in the report.
        progress: unused (no progress bars).
        log: called with a line saying what runs now.

    Returns:
        The results, as written to ``results.json``.

    Example:
        >>> import tempfile
        >>> tiny = NtkConfig(datasets=("diabetes",), sizes=(10, 20), members=2, width=16,
        ...     steps=5, workers=1)
        >>> results = run_ntk(tiny, RunFolder(tempfile.mkdtemp()))
        >>> results["datasets"]["diabetes"]["sizes"]["value"]
        [10, 20]

    References:
        Jacot, Gabriel, Hongler, arXiv:1806.07572; Lee et al., arXiv:1902.06720.
    """
    unknown = [name for name in config.datasets if name not in NTK_DATASETS]
    if unknown or not config.datasets:
        raise ConfigError(
            f"datasets must be a non-empty subset of {', '.join(NTK_DATASETS)}, got "
            f"{list(config.datasets)}"
        )
    folder.write_config(config.model_dump(mode="json"))
    executor = Executor(config.executor, workers=config.workers)
    results: dict[str, Any] = {
        "study": "ntk",
        "units": "losses are mean squared errors of the (standardised) targets: '1'",
        "datasets": {},
    }
    sections = []
    for name in config.datasets:
        log(f"ntk: {name}")
        study = _one_dataset(name, config, executor)
        path = folder.figure_path(f"ntk_{name}")
        plot_ensemble_study(study, path)
        results["datasets"][name] = _summary(study)
        sections.append(_section(name, study, folder.relative(path)))
    folder.write_results(results)
    folder.write_report(
        title="robusthep ntk: ensemble spread vs the infinite-width (NTK) prediction",
        sections=sections,
        command=command,
    )
    return results


def _one_dataset(name: str, config: NtkConfig, executor: Executor) -> EnsembleStudy:
    x, y = load_regression(name)
    order = np.random.default_rng(config.seed).permutation(len(x))
    test = min(config.test_examples, len(x) // 3)
    pool, held_out = order[test:], order[:test]
    sizes = [n for n in config.sizes if n <= len(pool)]
    if not sizes:
        raise ConfigError(
            f"no size in {list(config.sizes)} fits the {len(pool)} training examples of {name}"
        )
    return ensemble_study(
        torch.from_numpy(x[pool]),
        torch.from_numpy(y[pool]),
        torch.from_numpy(x[held_out]),
        torch.from_numpy(y[held_out]),
        sizes=sizes,
        members=config.members,
        width=config.width,
        depth=config.depth,
        activation=config.activation,
        w_std=config.w_std,
        b_std=config.b_std,
        steps=config.steps,
        seed=config.seed,
        executor=executor,
    )


def _summary(study: EnsembleStudy) -> dict[str, Any]:
    members = study.settings["members"]
    return {
        "sizes": quantity(study.sizes, "count"),
        "ensemble_mean_loss": quantity(study.ensemble_mean, "1", n=members),
        "ensemble_std_loss": quantity(study.ensemble_std, "1", n=members),
        "ensemble_cv": quantity(study.ensemble_cv, "1"),
        "infinite_mean_loss": quantity(study.infinite_mean, "1"),
        "infinite_std_loss": quantity(study.infinite_std, "1"),
        "infinite_cv": quantity(study.infinite_cv, "1"),
        "mean_loss_ratio": quantity(
            [e / i for e, i in zip(study.ensemble_mean, study.infinite_mean, strict=True)],
            "1",
            note="ensemble μ_L / infinite-width μ_L",
        ),
        "learning_rates": quantity(study.learning_rates, "1"),
        "test_examples": quantity(study.settings["test_examples"], "count"),
    }


def _section(name: str, study: EnsembleStudy, figure: str) -> Section:
    rows = [
        [
            str(n),
            f"{em:.4g} ± {es:.2g}",
            f"{es / em:.3f}",
            f"{im:.4g} ± {is_:.2g}",
            f"{is_ / im:.3f}",
        ]
        for n, em, es, im, is_ in zip(
            study.sizes,
            study.ensemble_mean,
            study.ensemble_std,
            study.infinite_mean,
            study.infinite_std,
            strict=True,
        )
    ]
    settings = study.settings
    return Section(
        f"{name}: test loss and its spread vs training-set size",
        text=f"{NTK_DATASETS[name]}. {settings['members']} members of width "
        f"{settings['width']} ({settings['activation']}, depth {settings['depth']}, "
        f"σ_w = {settings['w_std']:g}, σ_b = {settings['b_std']:g}), {settings['steps']} "
        f"full-batch gradient-descent steps; {settings['test_examples']} test examples. "
        "The infinite-width columns are the exact moments of the test loss of the "
        "infinitely wide network trained for the same time (NTK/NNGP kernels).",
        numbers={
            f"CV at n = {study.sizes[-1]}, ensemble": quantity(study.ensemble_cv[-1], "1"),
            f"CV at n = {study.sizes[-1]}, infinite width": quantity(study.infinite_cv[-1], "1"),
        },
        table=(["n", "ensemble μ_L ± σ_L", "CV", "infinite width μ_L ± σ_L", "CV"], rows),
        figures=[figure],
    )
