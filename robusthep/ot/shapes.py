"""Fitting parametric shapes (circles with energy fractions) to point clouds by NEEMo minimax."""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from robusthep.errors import ConfigError, DataError
from robusthep.ot.clouds import as_cloud
from robusthep.ot.emd import EMDResult, emd, lipschitz_critic

__all__ = ["SHAPE_KINDS", "CircleShape", "ShapeFit", "fit_shape"]

#: How a circle spreads its energy: on its circumference ("ring") or over its area ("disk").
SHAPE_KINDS = ("disk", "ring")

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


class CircleShape(nn.Module):
    r"""k circles in the plane with centres, radii and energy fractions, as a point cloud.

    Each circle carries the fraction zₖ of the energy, spread evenly over
    ``points_per_circle`` points: on its circumference (``kind="ring"``) or over its disk
    (``kind="disk"``, a sunflower pattern of equal-area points). The points move smoothly
    with the parameters, so the EMD between the shape and data can be minimised by gradient
    descent. Radii are stored as logarithms and fractions as softmax logits, so every
    parameter value is a valid shape.

    Arguments:
        centres: initial centres, shape (k, 2).
        radii: initial radii (> 0), shape (k,).
        fractions: initial energy fractions (> 0; normalised to sum 1), shape (k,).
        kind: "ring" or "disk".
        points_per_circle: points that discretise each circle.

    Example:
        >>> shape = CircleShape([[0.0, 0.0], [1.0, 0.0]], [0.5, 0.2], [3.0, 1.0])
        >>> points, weights = shape.cloud()
        >>> points.shape, round(float(weights.sum().detach()), 6)
        (torch.Size([128, 2]), 1.0)
        >>> [round(z, 4) for z in shape.fractions.tolist()]
        [0.75, 0.25]

    References:
        Ba, Gambhir, Thaler et al., "SHAPER: Can You Hear the Shape of a Jet?",
        arXiv:2302.12266; Kitouni, Nolte, Williams, arXiv:2209.15624.
    """

    def __init__(
        self,
        centres: Any,
        radii: Any,
        fractions: Any,
        *,
        kind: str = "ring",
        points_per_circle: int = 64,
    ) -> None:
        super().__init__()
        if kind not in SHAPE_KINDS:
            raise ConfigError(f"unknown shape kind {kind!r}; valid: {', '.join(SHAPE_KINDS)}")
        if not isinstance(points_per_circle, int) or points_per_circle < 1:
            raise ConfigError(
                f"points_per_circle must be an integer ≥ 1, got {points_per_circle!r}"
            )
        centres = torch.as_tensor(centres, dtype=torch.float32)
        radii = torch.as_tensor(radii, dtype=torch.float32).flatten()
        fractions = torch.as_tensor(fractions, dtype=torch.float32).flatten()
        k = radii.numel()
        if centres.shape != (k, 2) or fractions.shape != (k,) or k == 0:
            raise ConfigError(
                f"need centres (k, 2), radii (k,) and fractions (k,) with k ≥ 1; got "
                f"{tuple(centres.shape)}, {tuple(radii.shape)}, {tuple(fractions.shape)}"
            )
        if not (radii > 0).all() or not (fractions > 0).all():
            raise ConfigError("radii and fractions must all be > 0")
        self.kind = kind
        self.points_per_circle = points_per_circle
        self.centres = nn.Parameter(centres.clone())
        self.log_radii = nn.Parameter(radii.log())
        self.logits = nn.Parameter(fractions.log())
        index = torch.arange(points_per_circle, dtype=torch.float32) + 0.5
        if kind == "ring":
            angle = 2 * math.pi * index / points_per_circle
            offsets = torch.stack([angle.cos(), angle.sin()], dim=1)
        else:
            angle = _GOLDEN_ANGLE * index
            reach = torch.sqrt(index / points_per_circle)
            offsets = reach[:, None] * torch.stack([angle.cos(), angle.sin()], dim=1)
        self.register_buffer("offsets", offsets)

    @property
    def radii(self) -> torch.Tensor:
        """The radii, shape (k,)."""
        return self.log_radii.exp()

    @property
    def fractions(self) -> torch.Tensor:
        """The energy fractions, shape (k,), summing to 1."""
        return torch.softmax(self.logits, dim=0)

    def cloud(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The shape's points (k·m, 2) and weights (k·m,), differentiable in the parameters."""
        points = self.centres[:, None, :] + self.radii[:, None, None] * self.offsets[None]
        weights = (self.fractions[:, None] / self.points_per_circle).expand(
            -1, self.points_per_circle
        )
        return points.reshape(-1, 2), weights.reshape(-1)

    def parameters_dict(self) -> dict[str, list]:
        """Centres, radii and fractions as plain lists (for JSON)."""
        return {
            "centres": self.centres.detach().tolist(),
            "radii": self.radii.detach().tolist(),
            "fractions": self.fractions.detach().tolist(),
        }


@dataclass(frozen=True)
class ShapeFit:
    """What :func:`fit_shape` returns.

    Attributes:
        shape: the fitted :class:`CircleShape`.
        emd: the EMD between the data and the fitted shape, from a critic trained afresh
            (warm-started) with the shape fixed: a certified lower bound (see :func:`emd`).
        history: the dual objective at every shape step (the EMD the shape was chasing).
    """

    shape: CircleShape
    emd: EMDResult
    history: list[float] = field(repr=False)


def fit_shape(
    points: torch.Tensor | np.ndarray,
    weights: torch.Tensor | np.ndarray | None = None,
    *,
    n_circles: int = 1,
    kind: str = "ring",
    points_per_circle: int = 64,
    steps: int = 400,
    critic_steps: int = 5,
    warmup_steps: int = 100,
    shape_lr: float = 5e-3,
    critic_lr: float = 5e-3,
    hidden: tuple[int, ...] = (64, 64, 64),
    final_steps: int = 500,
    seed: int = 0,
) -> ShapeFit:
    r"""Fits ``n_circles`` circles to a weighted 2-d point cloud by minimising the EMD.

    The minimax min_θ max_f Σ wᵢ f(xᵢ) − Σ zⱼ(θ) f(yⱼ(θ)) over 1-Lipschitz critics f and
    shape parameters θ (centres, radii, fractions) is solved by alternating updates: per
    step, ``critic_steps`` Adam steps of the critic towards the current shape, then one Adam
    step of the shape down the critic's objective (the critic's gradients act as forces on
    the shape's points), after ``warmup_steps`` critic steps, with a cosine decay of the
    shape's learning rate. Energies are compared as fractions (``totals="normalize"``).
    Centres start from the best of ten weighted k-means++ runs (seeded), radii from the
    spread of each cluster. At the end the critic is trained for ``final_steps`` more
    with the shape fixed, and that EMD is reported.

    Arguments:
        points: the cloud, shape (n, 2) (e.g. rapidity, azimuth).
        weights: energies (≥ 0), shape (n,); None for equal weights.
        n_circles: k.
        kind: "ring" or "disk" (see :class:`CircleShape`).
        points_per_circle: the discretisation of each circle.
        steps: shape steps.
        critic_steps: critic steps per shape step.
        warmup_steps: critic steps before the first shape step, so that the first forces
            on the shape come from a critic that already measures the EMD.
        shape_lr: Adam's learning rate for the shape (in units of the coordinates).
        critic_lr: Adam's learning rate for the critic.
        hidden: the critic's hidden widths.
        final_steps: critic steps for the final EMD.
        seed: seeds the initial centres and the critic.

    Returns:
        A :class:`ShapeFit`.

    Raises:
        DataError: an empty cloud, negative weights, points that are not 2-d, fewer
            particles than circles.
        ConfigError: bad settings.

    Example:
        >>> angle = torch.linspace(0, 2 * math.pi, 65)[:-1]
        >>> ring = 0.5 * torch.stack([angle.cos(), angle.sin()], dim=1)
        >>> fit = fit_shape(ring, steps=10, warmup_steps=10, final_steps=10, hidden=(8, 8))
        >>> fit.shape.radii.shape
        torch.Size([1])

    References:
        Kitouni, Nolte, Williams, "Finding NEEMo", arXiv:2209.15624; Ba et al., "SHAPER",
        arXiv:2302.12266.
    """
    data, energy = as_cloud(points, weights, name="data")
    if data.shape[1] != 2:
        raise DataError(f"shapes are fitted to 2-d clouds, got {data.shape[1]} coordinates")
    counts = {"n_circles": n_circles, "steps": steps, "critic_steps": critic_steps}
    for name, value in {**counts, "warmup_steps": warmup_steps + 1}.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name} must be an integer ≥ {0 if name == 'warmup_steps' else 1}")
    if data.shape[0] < n_circles:
        raise DataError(f"{data.shape[0]} particles cannot seed {n_circles} circles")
    fractions = energy / energy.sum()
    generator = torch.Generator().manual_seed(seed)
    centres, radii, shares = _initial_circles(data, fractions, n_circles, generator)
    shape = CircleShape(centres, radii, shares, kind=kind, points_per_circle=points_per_circle)
    critic = lipschitz_critic(data, hidden=hidden, seed=seed)
    critic.train()
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=critic_lr)
    shape_optimizer = torch.optim.Adam(shape.parameters(), lr=shape_lr)
    # Annealing the shape's steps damps the oscillation of the minimax as it converges.
    shape_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        shape_optimizer, T_max=steps, eta_min=shape_lr / 100
    )
    x, w = data.float(), fractions.float()
    history: list[float] = []
    _ascend(critic, critic_optimizer, (x, w), shape.cloud(), warmup_steps)
    for _ in range(steps):
        _ascend(critic, critic_optimizer, (x, w), shape.cloud(), critic_steps)
        shape_points, shape_weights = shape.cloud()
        objective = _objective(critic, x, w, shape_points, shape_weights)
        history.append(float(objective.detach()))
        shape_optimizer.zero_grad(set_to_none=True)
        objective.backward()
        shape_optimizer.step()
        shape_schedule.step()
    shape_points, shape_weights = (t.detach() for t in shape.cloud())
    final = emd(
        data,
        shape_points,
        p_weights=fractions,
        q_weights=shape_weights,
        critic=critic,
        steps=final_steps,
        lr=critic_lr,
        seed=seed,
    )
    shape.eval()
    return ShapeFit(shape=shape, emd=final, history=history)


def _ascend(
    critic: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: tuple[torch.Tensor, torch.Tensor],
    shape_cloud: tuple[torch.Tensor, torch.Tensor],
    steps: int,
) -> None:
    """``steps`` critic steps up the dual objective, the shape held fixed."""
    shape_points, shape_weights = (t.detach() for t in shape_cloud)
    for _ in range(steps):
        objective = _objective(critic, *data, shape_points, shape_weights)
        optimizer.zero_grad(set_to_none=True)
        (-objective).backward()
        optimizer.step()


def _objective(
    critic: nn.Module,
    x: torch.Tensor,
    w: torch.Tensor,
    y: torch.Tensor,
    v: torch.Tensor,
) -> torch.Tensor:
    return (critic(x).squeeze(-1) * w).sum() - (critic(y).squeeze(-1) * v).sum()


def _kmeans(
    data: torch.Tensor, fractions: torch.Tensor, k: int, generator: torch.Generator
) -> tuple[torch.Tensor, float]:
    """One weighted k-means++ seeding and Lloyd's iterations: centres and their inertia."""
    first = torch.multinomial(fractions, 1, generator=generator)
    centres = data[first]
    for _ in range(1, k):
        distance = torch.cdist(data, centres).min(dim=1).values ** 2
        chance = fractions * distance
        if chance.sum() <= 0:
            chance = fractions
        centres = torch.cat([centres, data[torch.multinomial(chance, 1, generator=generator)]])
    for _ in range(20):
        label = torch.cdist(data, centres).argmin(dim=1)
        for j in range(k):
            member = label == j
            if fractions[member].sum() > 0:
                share = fractions[member] / fractions[member].sum()
                centres[j] = (share[:, None] * data[member]).sum(dim=0)
    inertia = float((fractions * torch.cdist(data, centres).min(dim=1).values ** 2).sum())
    return centres, inertia


def _initial_circles(
    data: torch.Tensor,
    fractions: torch.Tensor,
    k: int,
    generator: torch.Generator,
    restarts: int = 10,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centres from the best of several k-means runs, radii and energy shares of its clusters.

    A single k-means++ run can put two centres in one prong, a local minimum the minimax
    rarely leaves; the run with the lowest inertia is kept.
    """
    runs = [_kmeans(data, fractions, k, generator) for _ in range(restarts)]
    centres = min(runs, key=lambda run: run[1])[0]
    label = torch.cdist(data, centres).argmin(dim=1)
    spread = data.std(dim=0).mean().item() if len(data) > 1 else 1.0
    floor = max(spread, 1e-6) * 1e-2
    radii, shares = [], []
    for j in range(k):
        member = label == j
        share = float(fractions[member].sum())
        if share > 0:
            distance = torch.linalg.vector_norm(data[member] - centres[j], dim=1)
            radius = float((fractions[member] * distance).sum() / share)
        else:
            radius = floor
        radii.append(max(radius, floor))
        shares.append(max(share, 1e-3))
    return centres, torch.tensor(radii), torch.tensor(shares)
