"""Shape fits to jets: k circles per jet, and how much the EMD drops from one prong to two."""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from robusthep.errors import ConfigError, DataError
from robusthep.ot.exact import exact_emd
from robusthep.ot.shapes import SHAPE_KINDS, fit_shape
from robusthep.parallel import Executor

__all__ = [
    "JetFitSettings",
    "JetShapeTask",
    "fit_jet_shapes",
    "fit_jets",
    "jet_cloud",
    "prong_separation",
    "select_jets",
]

_CONSTITUENTS = ("constituent_pt", "constituent_deta", "constituent_dphi")


@dataclass(frozen=True)
class JetFitSettings:
    """How every jet is fitted: the numbers of circles and the :func:`fit_shape` settings.

    Example:
        >>> JetFitSettings().n_circles
        (1, 2, 3)
    """

    n_circles: tuple[int, ...] = (1, 2, 3)
    kind: str = "disk"
    points_per_circle: int = 32
    steps: int = 150
    critic_steps: int = 3
    warmup_steps: int = 100
    final_steps: int = 200
    hidden: tuple[int, ...] = (32, 32)
    shape_lr: float = 5e-3
    critic_lr: float = 5e-3

    def __post_init__(self) -> None:
        if not self.n_circles or any(
            not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in self.n_circles
        ):
            raise ConfigError(f"n_circles must be integers ≥ 1, got {self.n_circles!r}")
        if self.kind not in SHAPE_KINDS:
            raise ConfigError(f"unknown shape kind {self.kind!r}; valid: {', '.join(SHAPE_KINDS)}")


@dataclass(frozen=True)
class JetShapeTask:
    """One jet to fit (a picklable work item for :class:`~robusthep.parallel.Executor`).

    Attributes:
        points: constituents' (Δη, Δφ) to the jet axis, (n, 2).
        weights: their pT fractions, (n,).
        settings: the fit settings.
        seed: seeds the fits.
    """

    points: np.ndarray
    weights: np.ndarray
    settings: JetFitSettings
    seed: int


def jet_cloud(columns: Mapping[str, Any], index: int) -> tuple[np.ndarray, np.ndarray]:
    """One jet of the ``wjets`` dataset as a point cloud centred on the jet axis.

    Arguments:
        columns: the dataset's columns (``Dataset.columns``), with ``constituent_pt``,
            ``constituent_deta`` and ``constituent_dphi`` (Δφ already wrapped).
        index: the jet.

    Returns:
        ``(points, weights)``: (Δη, Δφ) of every stored constituent, shape (n, 2), and their
        pT fractions (summing to 1), shape (n,).

    Raises:
        DataError: missing constituent columns, an index out of range, or a jet without
            constituents.

    Example:
        >>> import awkward as ak
        >>> columns = {"constituent_pt": ak.Array([[3.0, 1.0]]),
        ...            "constituent_deta": ak.Array([[0.0, 0.2]]),
        ...            "constituent_dphi": ak.Array([[0.0, -0.1]])}
        >>> points, weights = jet_cloud(columns, 0)
        >>> points.tolist(), weights.tolist()
        ([[0.0, 0.0], [0.2, -0.1]], [0.75, 0.25])
    """
    missing = [name for name in _CONSTITUENTS if name not in columns]
    if missing:
        raise DataError(
            f"the columns lack {', '.join(missing)}: jet clouds need the constituents of the "
            "wjets dataset (robusthep.sim.generate_wjets)"
        )
    count = len(columns["constituent_pt"])
    if not 0 <= index < count:
        raise DataError(f"jet index {index} is out of range for {count} jets")
    pt, eta, phi = (np.asarray(columns[name][index], dtype=np.float64) for name in _CONSTITUENTS)
    if len(pt) == 0 or pt.sum() <= 0:
        raise DataError(f"jet {index} has no constituents with pT > 0: nothing to fit")
    return np.stack([eta, phi], axis=1), pt / pt.sum()


def select_jets(
    columns: Mapping[str, Any],
    label: int,
    count: int,
    *,
    pt_range: tuple[float, float] = (300.0, 700.0),
    mass_range: tuple[float, float] | None = None,
    min_constituents: int = 3,
    seed: int = 0,
) -> list[int]:
    """``count`` jets of one class in a pT window, drawn without replacement (seeded).

    Arguments:
        columns: the wjets columns.
        label: 1 for W jets, 0 for QCD jets.
        count: how many.
        pt_range: the jet pT window, GeV.
        mass_range: a jet mass window, GeV (e.g. around the W mass, so that W and QCD
            jets of the same mass are compared), or None.
        min_constituents: skip jets with fewer constituents (3 circles need 3 points).
        seed: seeds the draw.

    Returns:
        The indices, in increasing order.

    Raises:
        DataError: fewer than ``count`` jets pass.

    Example:
        >>> columns = {"label": np.array([1, 0, 1]), "jet_pt": np.array([400.0, 500, 900]),
        ...            "jet_n_constituents": np.array([10, 10, 10])}
        >>> select_jets(columns, 1, 1)
        [0]
    """
    label_ = np.asarray(columns["label"])
    pt = np.asarray(columns["jet_pt"], dtype=np.float64)
    constituents = np.asarray(columns["jet_n_constituents"])
    keep = (
        (label_ == label)
        & (pt >= pt_range[0])
        & (pt < pt_range[1])
        & (constituents >= min_constituents)
    )
    window = ""
    if mass_range is not None:
        mass = np.asarray(columns["jet_mass"], dtype=np.float64)
        keep &= (mass >= mass_range[0]) & (mass < mass_range[1])
        window = f", {mass_range[0]:g} ≤ m < {mass_range[1]:g} GeV"
    passing = np.flatnonzero(keep)
    if len(passing) < count:
        raise DataError(
            f"only {len(passing)} jets of label {label} have {pt_range[0]:g} ≤ pT < "
            f"{pt_range[1]:g} GeV{window} and ≥ {min_constituents} constituents; asked for "
            f"{count}"
        )
    chosen = np.random.default_rng(seed).choice(passing, size=count, replace=False)
    return sorted(int(i) for i in chosen)


def prong_separation(centres: Sequence[Sequence[float]], fractions: Sequence[float]) -> float:
    """The distance between the two most energetic fitted circles (ΔR in the (η, φ) plane).

    Example:
        >>> prong_separation([[0.0, 0.0], [0.3, 0.4], [0.0, 0.1]], [0.5, 0.4, 0.1])
        0.5
    """
    if len(centres) < 2:
        raise DataError("a prong separation needs at least two circles")
    order = np.argsort(np.asarray(fractions))[::-1][:2]
    first, second = (np.asarray(centres[i], dtype=np.float64) for i in order)
    return float(math.dist(first, second))


def fit_jet_shapes(task: JetShapeTask) -> dict[str, Any]:
    """Fits k circles to one jet for every k of the settings (module level, for an Executor).

    For each k: the NEEMo fit (:func:`~robusthep.ot.fit_shape`), its NEEMo EMD (a certified
    lower bound), and POT's exact EMD between the jet and the fitted shape sampled into its
    ``points_per_circle`` points per circle (:func:`~robusthep.ot.exact_emd`).

    Arguments:
        task: the jet and the settings.

    Returns:
        ``{"n_circles", "neemo", "exact", "shapes", "seconds"}``: lists over k (shapes as
        :meth:`~robusthep.ot.CircleShape.parameters_dict`), and the wall time.

    Example:
        >>> task = JetShapeTask(np.array([[0.0, 0.0], [0.4, 0.0], [0.41, 0.0]]),
        ...     np.array([0.5, 0.25, 0.25]), JetFitSettings(n_circles=(1,), steps=5,
        ...     warmup_steps=5, final_steps=5, hidden=(8, 8)), seed=0)
        >>> fit_jet_shapes(task)["n_circles"]
        [1]
    """
    import torch

    torch.set_num_threads(1)
    settings = task.settings
    started = time.perf_counter()
    neemo, exact, shapes = [], [], []
    options = {key: value for key, value in asdict(settings).items() if key != "n_circles"}
    for k in settings.n_circles:
        fit = fit_shape(task.points, task.weights, n_circles=k, seed=task.seed, **options)
        shape_points, shape_weights = (t.detach().double().numpy() for t in fit.shape.cloud())
        neemo.append(fit.emd.value)
        exact.append(
            exact_emd(task.points, shape_points, p_weights=task.weights, q_weights=shape_weights)
        )
        shapes.append(fit.shape.parameters_dict())
    return {
        "n_circles": list(settings.n_circles),
        "neemo": neemo,
        "exact": exact,
        "shapes": shapes,
        "seconds": time.perf_counter() - started,
    }


def fit_jets(
    columns: Mapping[str, Any],
    indices: Sequence[int],
    settings: JetFitSettings,
    *,
    executor: Executor | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """:func:`fit_jet_shapes` for every jet in ``indices``, through an Executor.

    Arguments:
        columns: the wjets columns.
        indices: the jets.
        settings: the fit settings.
        executor: where the fits run (default: in this process).
        seed: each jet's fits are seeded by ``seed`` and its index.

    Returns:
        One result per jet, in the order of ``indices``, with ``index`` added.
    """
    executor = executor or Executor("local", workers=1)
    tasks = [
        JetShapeTask(*jet_cloud(columns, index), settings=settings, seed=seed * 100_003 + index)
        for index in indices
    ]
    results = executor.map(fit_jet_shapes, tasks)
    return [{"index": int(index), **result} for index, result in zip(indices, results, strict=True)]
