"""NEEMo: the energy mover's distance from a Lipschitz critic, by Kantorovich–Rubinstein duality."""

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from robusthep.errors import ConfigError
from robusthep.nn import LipschitzSequential, Standardize, lipschitz_mlp
from robusthep.ot.clouds import as_cloud, normalized_pair
from robusthep.ot.refine import c_transform_bound

__all__ = ["EMDResult", "emd", "lipschitz_critic"]


@dataclass(frozen=True)
class EMDResult:
    """What :func:`emd` returns.

    Attributes:
        value: the estimate Σᵢ pᵢ f(xᵢ) − Σⱼ qⱼ f(yⱼ) at the returned critic, times the
            common mass (1 with ``totals="normalize"``). Since the critic is 1-Lipschitz in
            ℓ2 for any weights, this is a certified lower bound on the exact EMD of the two
            clouds (up to float rounding); training only decides how close it gets.
        critic: the 1-Lipschitz critic f (a :class:`~robusthep.nn.LipschitzSequential`;
            ``critic.lipschitz_bound()`` recomputes its bound, 1).
        history: the dual objective (of the fractions, before the step) at every step.
        mass: the factor ``value`` includes: 1, or the common total energy with
            ``totals="equal"``.
        critic_value: the critic's own objective (times ``mass``); equal to ``value``
            unless ``refine=True`` replaced ``value`` by the tighter c-transform bound.
    """

    value: float
    critic: LipschitzSequential
    history: list[float] = field(repr=False)
    mass: float = 1.0
    critic_value: float | None = None


def lipschitz_critic(
    points: torch.Tensor,
    *,
    hidden: Sequence[int] = (64, 64, 64),
    group_size: int = 2,
    seed: int = 0,
) -> LipschitzSequential:
    r"""A critic that is 1-Lipschitz from ℓ2 to ℝ for any weights, scaled to ``points``.

    The network is ``Standardize`` (subtract the centre of ``points``, divide every
    coordinate by the same scale s, bound 1/s) followed by :func:`lipschitz_mlp` with
    ``input_norm="two"`` and bound s: a first ``"two-inf"`` layer (every row of W has
    ‖wᵢ‖₂ ≤ s^{1/n}, so ‖Wx‖_∞ = maxᵢ|wᵢ·x| ≤ s^{1/n}‖x‖₂ by Cauchy–Schwarz), then
    ``"inf"`` layers (row abs-sums ≤ s^{1/n}: ‖Wx‖_∞ ≤ s^{1/n}‖x‖_∞), GroupSort between them
    (a permutation, 1-Lipschitz in ℓ∞). For the scalar output ‖·‖_∞ = |·|, so
    |f(x) − f(y)| ≤ (1/s)·s·‖x − y‖₂ = ‖x − y‖₂: exactly the ground metric of the EMD.
    Anil et al. prove such GroupSort networks (‖W₁‖_{2,∞} ≤ 1, ‖Wₖ‖_∞ ≤ 1) are universal
    approximators of the 1-Lipschitz functions of ℓ2.

    Arguments:
        points: the points the critic will see (both clouds), shape (n, d); they fix the
            centre and the isotropic scale, so the network works with numbers of order 1.
        hidden: hidden widths (multiples of ``group_size``).
        group_size: GroupSort's group size.
        seed: seeds the initial weights.

    Returns:
        The critic; ``critic.lipschitz_bound()`` is 1 (ℓ2 → |·|).

    Example:
        >>> critic = lipschitz_critic(torch.randn(50, 2), hidden=(16, 16))
        >>> round(critic.lipschitz_bound(), 6)
        1.0

    References:
        Anil, Lucas, Grosse, "Sorting out Lipschitz function approximation", ICML 2019,
        arXiv:1811.05381.
    """
    points = torch.as_tensor(points, dtype=torch.float64)
    centre = points.mean(dim=0)
    scale = float(points.var(dim=0, unbiased=False).mean().sqrt()) if len(points) > 1 else 0.0
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    dimensions = points.shape[1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = lipschitz_mlp(
            dimensions,
            hidden=tuple(hidden),
            lipschitz=scale,
            input_norm="two",
            group_size=group_size,
        )
    standardize = Standardize(mean=centre, scale=torch.full((dimensions,), scale))
    return LipschitzSequential(standardize, *net, input_norm="two")


def emd(
    p: torch.Tensor | np.ndarray,
    q: torch.Tensor | np.ndarray,
    *,
    p_weights: torch.Tensor | np.ndarray | None = None,
    q_weights: torch.Tensor | np.ndarray | None = None,
    totals: str = "normalize",
    critic: LipschitzSequential | None = None,
    hidden: Sequence[int] = (64, 64, 64),
    steps: int = 1000,
    lr: float = 1e-2,
    batch_size: int | None = None,
    refine: bool = False,
    refine_steps: int = 0,
    seed: int = 0,
) -> EMDResult:
    r"""The energy mover's distance between two weighted point clouds (NEEMo).

    By Kantorovich–Rubinstein duality, with the ℓ2 ground metric,

        EMD(P, Q) = sup_{‖f‖_Lip ≤ 1} Σᵢ pᵢ f(xᵢ) − Σⱼ qⱼ f(yⱼ),

    so the critic f is a network that is 1-Lipschitz in ℓ2 by construction (see
    :func:`lipschitz_critic`) and the objective is maximised by full-batch Adam with a cosine
    learning-rate decay. The critic with the best objective seen is returned; any critic's
    objective is a lower bound on the EMD, so the estimate never overshoots the exact value
    (beyond float rounding) — it converges to it from below.

    Energy totals: with ``totals="normalize"`` (the default) each cloud's weights are divided
    by their own total, so the result is the EMD of the energy *distributions* (in units of
    distance) and a difference in total energy is ignored, as in shape fitting. With
    ``totals="equal"`` the totals must agree (else ``DataError``) and the result is in
    energy × distance. The unbalanced EMD of Komiske et al., which adds |E_P − E_Q|, is not
    implemented.

    Arguments:
        p: the first cloud's coordinates, shape (n, d).
        q: the second cloud's coordinates, shape (m, d).
        p_weights: energies of ``p`` (≥ 0), shape (n,); None for equal weights.
        q_weights: energies of ``q`` (≥ 0), shape (m,); None for equal weights.
        totals: "normalize" or "equal", see above.
        critic: a critic to start from (e.g. the one a previous call returned, to warm
            start); by default a new :func:`lipschitz_critic`. It must be 1-Lipschitz in ℓ2.
        hidden: hidden widths of a new critic.
        steps: optimizer steps.
        lr: Adam's initial learning rate.
        batch_size: None for full-batch steps (every particle every step); else each step
            draws this many particles from each cloud with probability ∝ energy, with
            replacement (an unbiased estimate of the objective's gradient), which keeps the
            cost of a step fixed for large clouds. The returned value is always evaluated on
            all particles.
        refine: replace the value by the double c-transform of the trained critic on the
            particles (:func:`~robusthep.ot.c_transform_bound`): still a certified lower
            bound, at least as tight, at the cost of two passes over the n × m distances.
        refine_steps: (implies ``refine``) after the c-transform, this many semi-dual
            ascent steps on the particles' potential (``c_transform_bound(steps=...)``):
            still a certified lower bound, never below the double c-transform.
        seed: seeds a new critic's weights and the mini-batches.

    Returns:
        An :class:`EMDResult` with the estimate and the critic.

    Raises:
        DataError: an empty cloud, a negative or non-finite weight, mismatched dimensions,
            or differing totals with ``totals="equal"``.
        ConfigError: bad settings, or a critic whose certified ℓ2 bound exceeds 1.

    Example:
        >>> p = torch.tensor([[0.0, 0.0]])
        >>> q = torch.tensor([[3.0, 4.0]])
        >>> result = emd(p, q, steps=200, hidden=(8, 8))
        >>> round(result.value, 2)
        5.0

    References:
        Kitouni, Nolte, Williams, "Finding NEEMo: Geometric fitting using neural estimation
        of the energy mover's distance", arXiv:2209.15624; Komiske, Metodiev, Thaler,
        "The Hidden Geometry of Particle Collisions", arXiv:2004.04159.
    """
    p_points, p_energy = as_cloud(p, p_weights, name="p")
    q_points, q_energy = as_cloud(q, q_weights, name="q")
    _check_dimensions(p_points, q_points)
    _check_steps(steps, lr, batch_size)
    p_fractions, q_fractions, mass = normalized_pair(p_energy, q_energy, totals=totals)
    if critic is None:
        critic = lipschitz_critic(torch.cat([p_points, q_points]), hidden=hidden, seed=seed)
    else:
        check_critic(critic)
    critic, history = _maximize(
        critic,
        (p_points.float(), p_fractions.float()),
        (q_points.float(), q_fractions.float()),
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
    )
    value = dual_objective(critic, p_points, p_fractions, q_points, q_fractions)
    critic_value = value
    if refine or refine_steps:
        refined = c_transform_bound(
            critic, p_points, p_fractions, q_points, q_fractions, steps=refine_steps, seed=seed
        )
        value = max(value, refined)
    return EMDResult(
        value=mass * value,
        critic=critic,
        history=history,
        mass=mass,
        critic_value=mass * critic_value,
    )


def dual_objective(
    critic: nn.Module,
    p_points: torch.Tensor,
    p_fractions: torch.Tensor,
    q_points: torch.Tensor,
    q_fractions: torch.Tensor,
) -> float:
    """Σ pᵢ f(xᵢ) − Σ qⱼ f(yⱼ), accumulated in float64, without gradients."""
    critic.eval()
    with torch.no_grad():
        f_p = critic(p_points.float()).squeeze(-1).double()
        f_q = critic(q_points.float()).squeeze(-1).double()
    return float((p_fractions.double() * f_p).sum() - (q_fractions.double() * f_q).sum())


def check_critic(critic: nn.Module) -> None:
    """Raises ``ConfigError`` unless ``critic`` is certified 1-Lipschitz from ℓ2 to ℝ."""
    from robusthep.nn import lipschitz_bound

    bound = lipschitz_bound(critic, input_norm="two", output_norm="inf")
    if bound > 1.0 + 1e-6:
        raise ConfigError(
            f"the critic's certified ℓ2 Lipschitz bound is {bound:.6g} > 1, so its dual "
            "objective is not a lower bound on the EMD; build it with lipschitz_critic()"
        )


def _maximize(
    critic: LipschitzSequential,
    p: tuple[torch.Tensor, torch.Tensor],
    q: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    lr: float,
    batch_size: int | None = None,
    seed: int = 0,
) -> tuple[LipschitzSequential, list[float]]:
    critic.train()
    optimizer = torch.optim.Adam(critic.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 100)
    generator = torch.Generator().manual_seed(seed)
    full_points = torch.cat([p[0], q[0]])
    full_signed = torch.cat([p[1], -q[1]])
    history: list[float] = []
    best, best_state = -math.inf, None
    for _ in range(steps):
        if batch_size is None:
            points, signed = full_points, full_signed
        else:
            points, signed = _energy_batch(p, q, batch_size, generator)
        objective = (critic(points).squeeze(-1) * signed).sum()
        value = float(objective.detach())
        history.append(value)
        if batch_size is None and value > best:
            best, best_state = value, copy.deepcopy(critic.state_dict())
        optimizer.zero_grad(set_to_none=True)
        (-objective).backward()
        optimizer.step()
        schedule.step()
    if best_state is not None:
        with torch.no_grad():
            final = float((critic(full_points).squeeze(-1) * full_signed).sum())
        if best > final:
            critic.load_state_dict(best_state)
    critic.eval()
    return critic, history


def _energy_batch(
    p: tuple[torch.Tensor, torch.Tensor],
    q: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Particles drawn ∝ energy from each cloud, signed ±1/batch_size."""
    p_index = torch.multinomial(p[1], batch_size, replacement=True, generator=generator)
    q_index = torch.multinomial(q[1], batch_size, replacement=True, generator=generator)
    points = torch.cat([p[0][p_index], q[0][q_index]])
    signed = torch.cat([torch.ones(batch_size), -torch.ones(batch_size)]) / batch_size
    return points, signed


def _check_dimensions(p: torch.Tensor, q: torch.Tensor) -> None:
    if p.shape[1] != q.shape[1]:
        from robusthep.errors import DataError

        raise DataError(
            f"the clouds live in different spaces: p has {p.shape[1]} coordinates per "
            f"particle, q has {q.shape[1]}"
        )


def _check_steps(steps: int, lr: float, batch_size: int | None = None) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ConfigError(f"steps must be an integer ≥ 1, got {steps!r}")
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ConfigError(f"lr must be a finite number > 0, got {lr!r}")
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
    ):
        raise ConfigError(f"batch_size must be None or an integer ≥ 1, got {batch_size!r}")
