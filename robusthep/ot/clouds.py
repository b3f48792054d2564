"""Weighted point clouds: checking them and turning energies into the measures OT compares."""

import math

import numpy as np
import torch

from robusthep.errors import ConfigError, DataError

__all__ = ["TOTALS", "as_cloud", "normalized_pair"]

#: How :func:`normalized_pair` treats two clouds whose total energies differ.
TOTALS = ("normalize", "equal")


def as_cloud(
    points: torch.Tensor | np.ndarray,
    weights: torch.Tensor | np.ndarray | None = None,
    *,
    name: str = "cloud",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checks one weighted point cloud and returns it as float64 tensors.

    Arguments:
        points: coordinates, shape (particles, dimensions), e.g. (rapidity, azimuth).
        weights: non-negative energies (or pT), shape (particles,); None gives every
            particle the weight 1.
        name: how error messages call this cloud ("p", "q", "data" …).

    Returns:
        ``(points, weights)``, float64, shapes (n, d) and (n,).

    Raises:
        DataError: an empty cloud, a shape that is not (n, d), weights of another length,
            NaN or infinite values, a negative weight, or weights that sum to zero.

    Example:
        >>> points, weights = as_cloud([[0.0, 0.0], [1.0, 0.0]], [2.0, 1.0], name="p")
        >>> weights.tolist()
        [2.0, 1.0]
    """
    points = torch.as_tensor(np.asarray(points) if not torch.is_tensor(points) else points)
    points = points.detach().to(torch.float64)
    if points.ndim != 2:
        raise DataError(
            f"point cloud {name!r} must have shape (particles, dimensions), got "
            f"{tuple(points.shape)}"
        )
    if points.shape[0] == 0:
        raise DataError(
            f"point cloud {name!r} is empty (0 particles): the EMD needs at least one particle "
            "on each side; drop empty events before comparing them"
        )
    if points.shape[1] == 0:
        raise DataError(f"point cloud {name!r} has 0 coordinates per particle")
    _check_finite(points, f"coordinates of {name!r}")
    if weights is None:
        weights = torch.ones(points.shape[0], dtype=torch.float64)
    else:
        weights = torch.as_tensor(np.asarray(weights) if not torch.is_tensor(weights) else weights)
        weights = weights.detach().to(torch.float64)
    if weights.shape != (points.shape[0],):
        raise DataError(
            f"weights of {name!r} must have shape ({points.shape[0]},), one per particle, got "
            f"{tuple(weights.shape)}"
        )
    _check_finite(weights, f"weights of {name!r}")
    negative = (weights < 0).nonzero().flatten()
    if negative.numel():
        first = int(negative[0])
        raise DataError(
            f"weights of {name!r} must be ≥ 0 (energies); {negative.numel()} are negative, "
            f"the first at index {first} ({weights[first].item():g}). Energy mover's "
            "distances are defined for non-negative energies only"
        )
    if weights.sum() <= 0:
        raise DataError(f"weights of {name!r} sum to zero: there is no energy to move")
    return points, weights


def normalized_pair(
    p_weights: torch.Tensor,
    q_weights: torch.Tensor,
    *,
    totals: str = "normalize",
    rtol: float = 1e-6,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The two weight vectors as measures of equal mass, and the mass they share.

    ``totals="normalize"`` divides each cloud by its own total: both become probability
    distributions (energy fractions), the EMD is in units of distance, and a difference in
    total energy does not count. ``totals="equal"`` requires the totals to agree to ``rtol``
    (relative) and keeps the energies: the EMD is then in energy × distance.

    Arguments:
        p_weights: non-negative weights of the first cloud (from :func:`as_cloud`).
        q_weights: non-negative weights of the second cloud.
        totals: "normalize" or "equal".
        rtol: the relative tolerance on the totals for ``totals="equal"``.

    Returns:
        ``(p_fractions, q_fractions, mass)``: each fraction vector sums to 1, and ``mass``
        is the common total the EMD of the fractions is multiplied by (1 for "normalize").

    Raises:
        ConfigError: an unknown ``totals``.
        DataError: ``totals="equal"`` and totals that differ by more than ``rtol``.

    Example:
        >>> p, q, mass = normalized_pair(torch.tensor([1.0, 3.0]), torch.tensor([2.0]))
        >>> p.tolist(), q.tolist(), mass
        ([0.25, 0.75], [1.0], 1.0)
    """
    if totals not in TOTALS:
        raise ConfigError(f"unknown totals={totals!r}; valid: {', '.join(TOTALS)}")
    p_total, q_total = float(p_weights.sum()), float(q_weights.sum())
    mass = 1.0
    if totals == "equal":
        if not math.isclose(p_total, q_total, rel_tol=rtol):
            raise DataError(
                f"total energies differ: {p_total:.9g} vs {q_total:.9g} (relative difference "
                f"{abs(p_total - q_total) / max(p_total, q_total):.3g} > rtol={rtol:g}). "
                "With totals='equal' both clouds must carry the same energy; pass "
                "totals='normalize' to compare energy fractions instead"
            )
        mass = 0.5 * (p_total + q_total)
    return p_weights / p_total, q_weights / q_total, mass


def _check_finite(values: torch.Tensor, what: str) -> None:
    bad = ~torch.isfinite(values)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise DataError(f"{what} contain NaN or infinite values, the first at index {index}")
