"""A likelihood scan on a 1-D grid: the best value and the Δ(−2 ln L) = 1 interval."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from robusthep.errors import DataError

__all__ = ["ScanInterval", "scan_interval"]


@dataclass(frozen=True)
class ScanInterval:
    """The minimum of an NLL curve on a grid and where it rises by ``level``.

    Attributes:
        estimate: the minimum, refined by a parabola through the lowest grid point and its
            neighbours.
        low, high: the interval's ends, interpolated linearly between grid points; the
            grid's end where the curve does not rise by ``level`` before it (then
            ``truncated`` is True).
        truncated: the interval reached an end of the grid.
    """

    estimate: float
    low: float
    high: float
    truncated: bool


def scan_interval(grid: ArrayLike, nll: ArrayLike, *, level: float = 0.5) -> ScanInterval:
    """The estimate and interval of a negative log-likelihood scanned on an increasing grid.

    ``level`` = 0.5 (Δ NLL, i.e. Δ(−2 ln L) = 1) gives the 68.27% interval of Wilks'
    theorem for one parameter.

    Example:
        >>> grid = np.linspace(-3, 3, 61)
        >>> result = scan_interval(grid, 0.5 * (grid - 0.3) ** 2)
        >>> round(result.estimate, 3), round(result.low, 3), round(result.high, 3)
        (0.3, -0.7, 1.3)
    """
    grid = np.asarray(grid, dtype=float)
    values = np.asarray(nll, dtype=float)
    if grid.ndim != 1 or grid.shape != values.shape or grid.size < 3:
        raise DataError("grid and nll must be 1-d arrays of the same size ≥ 3")
    if np.any(np.diff(grid) <= 0):
        raise DataError("the grid must be strictly increasing")
    if not np.all(np.isfinite(values)):
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        raise DataError(f"the NLL is not finite at grid point {grid[first]:g}")
    best = int(np.argmin(values))
    estimate = float(grid[best])
    if 0 < best < grid.size - 1:
        x0, x1, x2 = grid[best - 1 : best + 2]
        y0, y1, y2 = values[best - 1 : best + 2]
        denominator = (x0 - x1) * (x0 - x2) * (x1 - x2)
        a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator
        b = (x2**2 * (y0 - y1) + x1**2 * (y2 - y0) + x0**2 * (y1 - y2)) / denominator
        if a > 0:
            estimate = float(np.clip(-b / (2 * a), x0, x2))
    threshold = values[best] + level
    low, low_truncated = _crossing(grid[: best + 1][::-1], values[: best + 1][::-1], threshold)
    high, high_truncated = _crossing(grid[best:], values[best:], threshold)
    return ScanInterval(estimate, low, high, low_truncated or high_truncated)


def _crossing(grid: np.ndarray, values: np.ndarray, threshold: float) -> tuple[float, bool]:
    """Where ``values`` (walking away from the minimum) first reach ``threshold``."""
    above = np.flatnonzero(values >= threshold)
    if above.size == 0:
        return float(grid[-1]), True
    index = int(above[0])
    if index == 0:
        return float(grid[0]), False
    x0, x1, y0, y1 = grid[index - 1], grid[index], values[index - 1], values[index]
    fraction = (threshold - y0) / (y1 - y0) if y1 != y0 else 0.0
    return float(x0 + fraction * (x1 - x0)), False
