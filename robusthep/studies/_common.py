"""Pieces the studies share: seeded models, the MSE loss, ReLU baselines, monotonicity counts."""

import copy
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import nn

from robusthep.nn import MonotonicWrapper, lipschitz_mlp

__all__ = [
    "count_violations",
    "monotonic_mlp",
    "mse_loss",
    "parameter_count",
    "relu_mlp",
    "seeded",
]

M = TypeVar("M", bound=nn.Module)


def seeded(build: Callable[[], M], seed: int) -> M:
    """``build()`` with torch's global RNG seeded by ``seed``, leaving the caller's RNG as it was.

    Example:
        >>> a = seeded(lambda: nn.Linear(2, 1), 3)
        >>> b = seeded(lambda: nn.Linear(2, 1), 3)
        >>> bool(torch.equal(a.weight, b.weight))
        True
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def mse_loss(model: nn.Module, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """The mean squared error of ``model(x)`` against ``y`` for a batch ``(x, y)``.

    Example:
        >>> mse_loss(nn.Identity(), (torch.zeros(2, 1), torch.ones(2, 1)))
        tensor(1.)
    """
    x, y = batch[0], batch[1]
    return nn.functional.mse_loss(model(x), y)


def relu_mlp(in_features: int, hidden: Sequence[int], out_features: int = 1) -> nn.Sequential:
    """An unconstrained ReLU MLP, the baseline of the studies.

    Example:
        >>> relu_mlp(3, (8, 8))
        Sequential(
          (0): Linear(in_features=3, out_features=8, bias=True)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=8, bias=True)
          (3): ReLU()
          (4): Linear(in_features=8, out_features=1, bias=True)
        )
    """
    widths = [in_features, *hidden]
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths, widths[1:], strict=False):
        layers.extend([nn.Linear(n_in, n_out), nn.ReLU()])
    layers.append(nn.Linear(widths[-1], out_features))
    return nn.Sequential(*layers)


def monotonic_mlp(
    feature_names: Sequence[str],
    *,
    hidden: Sequence[int],
    lipschitz: float,
    group_size: int = 2,
    increasing: Sequence[str] = (),
    decreasing: Sequence[str] = (),
) -> MonotonicWrapper:
    """The studies' monotonic network: a λ-Lipschitz GroupSort MLP in a monotonic wrapper.

    Example:
        >>> g = monotonic_mlp(["pt", "eta"], hidden=(8,), lipschitz=2.0, increasing=["pt"])
        >>> round(g.lipschitz, 6), g.increasing
        (2.0, [0])
    """
    return MonotonicWrapper(
        lipschitz_mlp(
            len(feature_names), hidden=hidden, lipschitz=lipschitz, group_size=group_size
        ),
        increasing=list(increasing),
        decreasing=list(decreasing),
        feature_names=list(feature_names),
    )


def parameter_count(model: nn.Module) -> int:
    """The number of trainable parameters.

    Example:
        >>> parameter_count(nn.Linear(3, 2))
        8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_violations(
    model: nn.Module,
    base: torch.Tensor,
    feature: int,
    values: torch.Tensor,
    *,
    sign: int,
    tolerance: float = 1e-9,
) -> tuple[int, int]:
    """Count the grid steps along one feature where a model goes against a monotonic sign.

    Every row of ``base`` is copied once for each of the sorted ``values`` of ``feature``;
    each step between neighbours where ``sign·(f(next) − f(previous)) < −tolerance`` is a
    violation. The model is evaluated in float64 on a copy, so rounding is far below the
    tolerance.

    Arguments:
        model: the model, outputs (N, 1) or (N,).
        base: the rows to start from, (N, d).
        feature: the index of the feature to scan.
        values: the grid of that feature, (G,), in increasing order.
        sign: +1 (must not decrease) or −1 (must not increase).
        tolerance: drops smaller than this are not counted.

    Returns:
        ``(violations, steps)``: the violating steps and all steps, N·(G − 1).

    Example:
        >>> grid = torch.linspace(-1, 1, 11)
        >>> count_violations(nn.Identity(), torch.zeros(1, 1), 0, grid, sign=1)
        (0, 10)
        >>> count_violations(nn.Identity(), torch.zeros(1, 1), 0, grid, sign=-1)
        (10, 10)
    """
    checked = copy.deepcopy(model).double().eval()
    rows = base.double().repeat_interleave(len(values), dim=0)
    rows[:, feature] = values.double().repeat(len(base))
    with torch.no_grad():
        outputs = checked(rows).reshape(len(base), len(values))
    steps = sign * (outputs[:, 1:] - outputs[:, :-1])
    return int((steps < -tolerance).sum()), steps.numel()
