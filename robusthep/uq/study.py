"""Ensembles of finite-width networks against the infinite-width prediction, vs data size."""

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from robusthep.errors import ConfigError, DataError
from robusthep.parallel import Executor
from robusthep.uq.kernels import fc_kernels
from robusthep.uq.ntk_mlp import NTKMLP
from robusthep.uq.predict import kernel_ensemble

__all__ = ["EnsembleStudy", "MemberTask", "ensemble_study", "member_test_loss", "train_member"]


@dataclass(frozen=True)
class EnsembleStudy:
    """What :func:`ensemble_study` measured, one entry a training-set size.

    Attributes:
        sizes: training-set sizes n.
        ensemble_mean: μ_L, the mean test loss over the finite-width members.
        ensemble_std: σ_L, their standard deviation (ddof = 1).
        infinite_mean: μ_L predicted for infinitely wide members (exact under the Gaussian).
        infinite_std: σ_L predicted for infinitely wide members.
        learning_rates: the gradient-descent step size used at each size.
        settings: the architecture and training settings.
    """

    sizes: list[int]
    ensemble_mean: list[float]
    ensemble_std: list[float]
    infinite_mean: list[float]
    infinite_std: list[float]
    learning_rates: list[float]
    settings: dict[str, Any]

    @property
    def ensemble_cv(self) -> list[float]:
        """σ_L/μ_L of the finite ensembles."""
        return [s / m for s, m in zip(self.ensemble_std, self.ensemble_mean, strict=True)]

    @property
    def infinite_cv(self) -> list[float]:
        """σ_L/μ_L predicted at infinite width."""
        return [s / m for s, m in zip(self.infinite_std, self.infinite_mean, strict=True)]

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-ready values, the two CVs included."""
        return {**asdict(self), "ensemble_cv": self.ensemble_cv, "infinite_cv": self.infinite_cv}


def train_member(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    hidden: Sequence[int],
    activation: str,
    w_std: float,
    b_std: float,
    learning_rate: float,
    steps: int,
    seed: int,
) -> NTKMLP:
    """One ensemble member: an :class:`NTKMLP` after ``steps`` full-batch gradient-descent steps.

    The loss is ½·mean((f − y)²) over all entries of y, the convention of
    :func:`~robusthep.uq.kernel_ensemble`, with plain gradient descent (no momentum).

    Arguments:
        x: training inputs, (n, d), float64.
        y: training targets, (n, k), float64.
        hidden: hidden widths.
        activation: "relu" or "erf".
        w_std: σ_w.
        b_std: σ_b.
        learning_rate: the step size η.
        steps: gradient-descent steps.
        seed: seeds the initial weights.

    Returns:
        The trained network (float64).
    """
    net = NTKMLP(
        x.shape[1],
        y.shape[1],
        hidden=hidden,
        activation=activation,
        w_std=w_std,
        b_std=b_std,
        seed=seed,
    ).double()
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate)
    for _ in range(steps):
        loss = 0.5 * (net(x) - y).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return net


@dataclass(frozen=True)
class MemberTask:
    """One ensemble member to train and test (a picklable work item for an Executor).

    Attributes:
        x, y: the training set, float64.
        x_test, y_test: the test set, float64.
        options: the keyword arguments of :func:`train_member` (seed included).
    """

    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    options: dict[str, Any]


def member_test_loss(task: MemberTask) -> float:
    """Trains one member (:func:`train_member`) and returns its test loss mean((f − y)²).

    Example:
        >>> x = torch.linspace(-1, 1, 4, dtype=torch.float64)[:, None]
        >>> task = MemberTask(x, x, x, x, {"hidden": (8,), "activation": "relu",
        ...     "w_std": 1.0, "b_std": 0.0, "learning_rate": 0.1, "steps": 2, "seed": 0})
        >>> member_test_loss(task) > 0
        True
    """
    torch.set_num_threads(1)
    net = train_member(task.x, task.y, **task.options)
    with torch.no_grad():
        return float((net(task.x_test) - task.y_test).pow(2).mean())


def ensemble_study(
    x_train: torch.Tensor | np.ndarray,
    y_train: torch.Tensor | np.ndarray,
    x_test: torch.Tensor | np.ndarray,
    y_test: torch.Tensor | np.ndarray,
    *,
    sizes: Sequence[int],
    members: int = 10,
    width: int = 256,
    depth: int = 1,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    steps: int = 500,
    learning_rate: float | None = None,
    seed: int = 0,
    executor: Executor | None = None,
) -> EnsembleStudy:
    r"""Test-loss mean μ_L and spread σ_L of ensembles vs the infinite-width prediction.

    For every training-set size n (the first n examples of a seeded permutation of the
    training set), ``members`` networks of the given width, differing only in their
    initialisation, are trained by full-batch gradient descent for ``steps`` steps; the test
    loss mean((f − y)²) of each gives μ_L and σ_L. The infinite-width prediction of the
    same architecture trained for the same time is a Gaussian over initialisations
    (:func:`~robusthep.uq.kernel_ensemble`) whose test-loss moments are exact
    (:meth:`~robusthep.uq.EnsemblePrediction.loss_moments`). The coefficient of variation
    CV = σ_L/μ_L is the figure of merit the seed studies against n.

    With ``learning_rate=None`` the step at each size is half the stability limit of the
    infinite-width dynamics, η = nk/λ_max(Θ) (so η·λ_max/(nk) = 1 < 2).

    Arguments:
        x_train: training inputs, (N, d).
        y_train: training targets, (N, k) or (N,).
        x_test: test inputs, (m, d).
        y_test: test targets, (m, k) or (m,).
        sizes: training-set sizes, each ≤ N.
        members: networks per ensemble (≥ 2).
        width: hidden width of the finite networks.
        depth: hidden layers.
        activation: "relu" or "erf".
        w_std: σ_w.
        b_std: σ_b.
        steps: gradient-descent steps (the prediction uses time = steps).
        learning_rate: η, or None to choose it per size as above.
        seed: seeds the subset and the members.
        executor: where the members train (:class:`~robusthep.parallel.Executor`, one work
            item per member and size); default: in this process. Each member carries its
            own seed, so the results do not depend on the executor.

    Returns:
        An :class:`EnsembleStudy`.

    Raises:
        DataError: inputs or targets of inconsistent shapes, or a size larger than the
            training set.
        ConfigError: fewer than two members, or bad sizes.

    Example:
        >>> x = torch.linspace(-1, 1, 20, dtype=torch.float64)[:, None]
        >>> study = ensemble_study(x, torch.sin(3 * x), x, torch.sin(3 * x), sizes=[5, 10],
        ...                        members=3, width=32, steps=20)
        >>> len(study.ensemble_cv), len(study.infinite_cv)
        (2, 2)

    References:
        Lee et al., arXiv:1902.06720; Jacot, Gabriel, Hongler, arXiv:1806.07572.
    """
    x_all, y_all = _as_table(x_train, y_train, "train")
    x_eval, y_eval = _as_table(x_test, y_test, "test")
    if x_all.shape[1] != x_eval.shape[1] or y_all.shape[1] != y_eval.shape[1]:
        raise DataError("training and test tables differ in features or targets")
    if not isinstance(members, int) or members < 2:
        raise ConfigError(f"members must be an integer ≥ 2 (a spread needs two), got {members!r}")
    sizes = [int(n) for n in sizes]
    if not sizes or any(n < 1 for n in sizes):
        raise ConfigError(f"sizes must be a non-empty list of integers ≥ 1, got {sizes}")
    if max(sizes) > len(x_all):
        raise DataError(f"size {max(sizes)} exceeds the {len(x_all)} training examples")
    order = torch.randperm(len(x_all), generator=torch.Generator().manual_seed(seed))
    options = {"depth": depth, "activation": activation, "w_std": w_std, "b_std": b_std}
    test_kernels = fc_kernels(x_eval, **options)
    hidden = (width,) * depth
    rows: dict[str, list[float]] = {k: [] for k in ("em", "es", "im", "is", "lr")}
    tasks = []
    for size in sizes:
        x, y = x_all[order[:size]], y_all[order[:size]]
        train_kernels = fc_kernels(x, **options)
        cross = fc_kernels(x_eval, x, **options)
        lr = learning_rate
        if lr is None:
            lr = y.numel() / float(torch.linalg.eigvalsh(train_kernels.ntk).max())
        prediction = kernel_ensemble(
            train_kernels.ntk,
            cross.ntk,
            train_kernels.nngp,
            cross.nngp,
            test_kernels.nngp,
            y,
            time=steps,
            learning_rate=lr,
        )
        mean, std = prediction.loss_moments(y_eval)
        rows["im"].append(mean)
        rows["is"].append(std)
        rows["lr"].append(lr)
        for member in range(members):
            member_options = {
                "hidden": hidden,
                "activation": activation,
                "w_std": w_std,
                "b_std": b_std,
                "learning_rate": lr,
                "steps": steps,
                "seed": seed * 100_003 + size * 1009 + member,
            }
            tasks.append(MemberTask(x, y, x_eval, y_eval, member_options))
    losses = (executor or Executor("local", workers=1)).map(member_test_loss, tasks)
    for start in range(0, len(losses), members):
        chunk = losses[start : start + members]
        rows["em"].append(float(np.mean(chunk)))
        rows["es"].append(float(np.std(chunk, ddof=1)))
    settings = {
        "members": members,
        "width": width,
        "steps": steps,
        "seed": seed,
        "test_examples": len(x_eval),
        **options,
    }
    return EnsembleStudy(
        sizes=sizes,
        ensemble_mean=rows["em"],
        ensemble_std=rows["es"],
        infinite_mean=rows["im"],
        infinite_std=rows["is"],
        learning_rates=rows["lr"],
        settings=settings,
    )


def _as_table(
    x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray, name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x).detach().double()
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y).detach().double()
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise DataError(
            f"{name} inputs must be (examples, features) and targets (examples, outputs) of "
            f"the same non-zero length, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise DataError(f"{name} inputs or targets contain NaN or infinite values")
    return x, y
