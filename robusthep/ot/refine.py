"""Tightening a critic's EMD lower bound on the particles by a double c-transform."""

import math

import numpy as np
import torch
from torch import nn

from robusthep.errors import ConfigError
from robusthep.ot.clouds import as_cloud

__all__ = ["c_transform_bound"]


def c_transform_bound(
    critic: nn.Module,
    p: torch.Tensor | np.ndarray,
    p_fractions: torch.Tensor | np.ndarray,
    q: torch.Tensor | np.ndarray,
    q_fractions: torch.Tensor | np.ndarray,
    *,
    chunk: int = 1024,
    steps: int = 0,
    batch_size: int = 256,
    lr: float = 0.05,
    seed: int = 0,
) -> float:
    r"""The dual objective after a double c-transform of the critic on the two clouds.

    The discrete dual of the EMD is max Σ aᵢuᵢ − Σ bⱼvⱼ subject to uᵢ − vⱼ ≤ ‖xᵢ − yⱼ‖ for
    every pair. Starting from a 1-Lipschitz critic f (uᵢ = f(xᵢ), vⱼ = f(yⱼ)), lower each
    vⱼ as far as the constraints allow, vⱼ = maxᵢ (f(xᵢ) − ‖xᵢ − yⱼ‖) ≤ f(yⱼ), then raise each
    uᵢ = minⱼ (vⱼ + ‖xᵢ − yⱼ‖) ≥ f(xᵢ). Both steps keep every constraint and can only
    increase the objective, so the result is again a certified lower bound on the exact EMD
    (weak duality), at least as tight as f's own objective. It lets the particle-level
    matching the smooth critic misses (sampling noise) into the bound. Cost: two passes over
    the n × m distances, in chunks of ``chunk`` rows (memory O(chunk·max(n, m))), no
    transport problem solved.

    With ``steps > 0`` the potential on Q is then optimised on the particles directly
    (semi-dual refinement): with gⱼ = −vⱼ, maximise the semi-dual

        F(g) = Σᵢ aᵢ minⱼ (‖xᵢ − yⱼ‖ − gⱼ) + Σⱼ bⱼgⱼ,

    which is concave, by ``steps`` Adam steps on its stochastic supergradient
    ∂F/∂gⱼ = bⱼ − Σᵢ aᵢ [j = argminₖ (‖xᵢ − yₖ‖ − gₖ)], each from ``batch_size`` particles
    of P drawn ∝ energy against all of Q (float32, cosine-decayed step
    ``lr`` × the clouds' RMS spread × min(1, batch_size/m)). For ANY g, uᵢ = minⱼ
    (‖xᵢ − yⱼ‖ − gⱼ) and vⱼ = −gⱼ satisfy every constraint, so F(g) is a lower bound on
    the EMD (weak duality); F is evaluated exactly (float64, in chunks) at the start, which
    is the double c-transform value, and at the end, and the larger is returned: never
    below the double c-transform, never above the exact EMD. Cost per step:
    ``batch_size`` × m distances.

    Arguments:
        critic: a 1-Lipschitz (ℓ2) critic, e.g. ``emd(...).critic``.
        p: the first cloud, (n, d).
        p_fractions: its weights, normalised to sum 1 here.
        q: the second cloud, (m, d).
        q_fractions: its weights, normalised to sum 1 here.
        chunk: rows of the distance matrix per pass.
        steps: semi-dual ascent steps on the particles (0: the double c-transform only).
        batch_size: particles of P per ascent step.
        lr: the ascent's step, relative to the clouds' spread and to batch_size/m.
        seed: seeds the ascent's batches.

    Returns:
        The refined lower bound on EMD(p, q) for unit totals.

    Raises:
        DataError: the bad clouds :func:`~robusthep.ot.emd` refuses.
        ConfigError: ``steps``, ``batch_size``, ``lr`` or ``chunk`` out of range.

    Example:
        >>> critic = torch.nn.Linear(1, 1, bias=False)  # f = 0.5·x: 1-Lipschitz, not optimal
        >>> _ = torch.nn.init.constant_(critic.weight, 0.5)
        >>> p, q = torch.tensor([[2.0]]), torch.tensor([[0.0]])
        >>> c_transform_bound(critic, p, torch.ones(1), q, torch.ones(1))  # exact EMD is 2
        2.0
        >>> c_transform_bound(critic, p, torch.ones(1), q, torch.ones(1), steps=5)
        2.0

    References:
        Villani, "Optimal Transport: Old and New" (2009), ch. 5 (c-transforms); Mallasto et
        al., "(q, p)-Wasserstein GANs", arXiv:1902.03642; Genevay, Cuturi, Peyré, Bach,
        "Stochastic optimization for large-scale optimal transport", NeurIPS 2016,
        arXiv:1605.08527 (the semi-dual and its stochastic ascent).
    """
    _check_settings(chunk, steps, batch_size, lr)
    p_points, p_weights = as_cloud(p, p_fractions, name="p")
    q_points, q_weights = as_cloud(q, q_fractions, name="q")
    a, b = p_weights / p_weights.sum(), q_weights / q_weights.sum()
    critic.eval()
    with torch.no_grad():
        f_p = critic(p_points.float()).squeeze(-1).double()
        v = torch.cat(
            [
                (f_p[None, :] - torch.cdist(q_points[start : start + chunk], p_points))
                .max(dim=1)
                .values
                for start in range(0, len(q_points), chunk)
            ]
        )
    if steps == 0:
        return _semi_dual(-v, a, b, p_points, q_points, chunk)
    g = _ascend(-v, a, b, p_points, q_points, steps, batch_size, lr, seed)
    return max(
        _semi_dual(-v, a, b, p_points, q_points, chunk),
        _semi_dual(g, a, b, p_points, q_points, chunk),
    )


def _semi_dual(
    g: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    p_points: torch.Tensor,
    q_points: torch.Tensor,
    chunk: int,
) -> float:
    """F(g) = Σ aᵢ minⱼ (‖xᵢ − yⱼ‖ − gⱼ) + Σ bⱼgⱼ, in float64 and in chunks of rows."""
    with torch.no_grad():
        u = torch.cat(
            [
                (torch.cdist(p_points[start : start + chunk], q_points) - g[None, :])
                .min(dim=1)
                .values
                for start in range(0, len(p_points), chunk)
            ]
        )
    return float((a * u).sum() + (b * g).sum())


def _ascend(
    g: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    p_points: torch.Tensor,
    q_points: torch.Tensor,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> torch.Tensor:
    """Adam on the semi-dual's stochastic supergradient, from ``g``; returns the last g."""
    points = torch.cat([p_points, q_points])
    spread = float(points.var(dim=0, unbiased=False).sum().sqrt()) if len(points) > 1 else 0.0
    spread = spread if math.isfinite(spread) and spread > 0 else 1.0
    step = lr * spread * min(1.0, batch_size / len(q_points))
    g = g.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([g], lr=step)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=step / 100)
    generator = torch.Generator().manual_seed(seed)
    p32, q32 = p_points.float(), q_points.float()
    for _ in range(steps):
        index = torch.multinomial(a, batch_size, replacement=True, generator=generator)
        with torch.no_grad():
            nearest = (torch.cdist(p32[index], q32) - g.float()[None, :]).argmin(dim=1)
            hits = torch.bincount(nearest, minlength=len(q_points)).double() / batch_size
        g.grad = hits - b  # minus the supergradient: Adam minimises
        optimizer.step()
        schedule.step()
    return g.detach()


def _check_settings(chunk: int, steps: int, batch_size: int, lr: float) -> None:
    for name, value, low in (
        ("chunk", chunk, 1),
        ("steps", steps, 0),
        ("batch_size", batch_size, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an integer ≥ {low}, got {value!r}")
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
        raise ConfigError(f"lr must be a finite number > 0, got {lr!r}")
