"""The Neyman construction with bias correction, calibrated on pseudo-experiments over a μ grid."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from robusthep.errors import ConfigError, ConstraintError, DataError
from robusthep.infer.coverage import ONE_SIGMA
from robusthep.infer.errors import OutsideGridError

__all__ = ["NeymanBelt", "NeymanInterval"]

_DENSE = 4001  # points of the dense μ grid the belt is inverted on


@dataclass(frozen=True)
class NeymanInterval:
    """A Neyman interval for one observed estimate.

    Attributes:
        estimate: the bias-corrected point estimate (the μ whose median estimate is observed).
        low, high: the interval's endpoints, clipped to the grid.
        raw: the uncorrected estimate the interval was made from.
        clipped_low, clipped_high: the endpoint lay beyond the grid and was set to its edge.
        outside: the whole interval lies outside the grid (the estimate is not calibrated).
    """

    estimate: float
    low: float
    high: float
    raw: float
    clipped_low: bool
    clipped_high: bool
    outside: bool


@dataclass(frozen=True)
class NeymanBelt:
    """A central confidence belt of an estimator μ̂, measured on pseudo-experiments.

    For each true μ of the grid, the ``(1 − cl)/2``, ½ and ``(1 + cl)/2`` quantiles of μ̂
    over pseudo-experiments (nuisances drawn from their priors). The belt is inverted for
    an observed μ̂: the interval is every μ whose central ``cl`` band holds μ̂, and the
    bias-corrected estimate is the μ whose median is μ̂. Between grid points the
    quantiles are interpolated linearly (after making them non-decreasing); beyond the grid
    nothing is known, so endpoints are clipped and flagged, and an estimate that no grid
    μ could have produced centrally is an :class:`OutsideGridError` (or flagged).

    Attributes:
        grid: the true μ values, increasing.
        low, median, high: the quantiles of μ̂ at each grid point.
        cl: the confidence level.
        counts: pseudo-experiments per grid point.
        failed: of them, failed fits (NaN estimates) per grid point.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> grid = np.linspace(0.1, 3.0, 30)
        >>> estimates = [0.8 * mu + 0.2 + 0.3 * rng.standard_normal(4000) for mu in grid]
        >>> belt = NeymanBelt.calibrate(grid, estimates)
        >>> interval = belt.interval(1.0)
        >>> round(interval.estimate, 1), round(interval.low, 1), round(interval.high, 1)
        (1.0, 0.6, 1.4)

    References:
        J. Neyman, Phil. Trans. R. Soc. A 236 (1937) 333; the bias-corrected construction as
        used in the FAIR Universe HiggsML Uncertainty Challenge, arXiv:2410.02867.
    """

    grid: np.ndarray
    low: np.ndarray
    median: np.ndarray
    high: np.ndarray
    cl: float
    counts: np.ndarray
    failed: np.ndarray

    @classmethod
    def calibrate(
        cls, grid: ArrayLike, estimates: Sequence[ArrayLike], *, cl: float = ONE_SIGMA
    ) -> "NeymanBelt":
        """Measure the belt from estimates of μ̂ on pseudo-experiments at each grid point.

        A failed fit's estimate is NaN. It is counted in ``failed``; the quantiles are
        taken over all pseudo-experiments with a failed one placed on the side that widens
        the belt (half above, half below), so failures never narrow the intervals.

        Arguments:
            grid: the true μ values, strictly increasing, at least two.
            estimates: per grid point, the μ̂ of its pseudo-experiments.
            cl: the confidence level of the central belt.

        Returns:
            The belt.

        Raises:
            ConfigError: a grid that is not increasing, a level outside (0, 1).
            DataError: a grid point without finite estimates.
            ConstraintError: a median that does not increase with μ (the estimator
                carries no information on μ, and the belt cannot be inverted).
        """
        grid_array = np.asarray(grid, dtype=float)
        if grid_array.ndim != 1 or len(grid_array) < 2 or np.any(np.diff(grid_array) <= 0):
            raise ConfigError(f"the μ grid must be strictly increasing, ≥ 2 points: {grid_array}")
        if not 0 < cl < 1:
            raise ConfigError(f"cl must be in (0, 1), got {cl!r}")
        if len(estimates) != len(grid_array):
            raise DataError(f"{len(estimates)} estimate sets for {len(grid_array)} grid points")
        quantiles, counts, failed = [], [], []
        alpha = (1 - cl) / 2
        for mu, values in zip(grid_array, estimates, strict=True):
            array = np.asarray(values, dtype=float).reshape(-1)
            bad = ~np.isfinite(array)
            good = array[~bad]
            if good.size == 0:
                raise DataError(f"no finite estimate at μ = {mu:g}: every fit failed")
            # Failures go half to each extreme: they can only widen the belt.
            n_bad = int(bad.sum())
            padded = np.concatenate(
                [good, np.full(n_bad // 2, -np.inf), np.full(n_bad - n_bad // 2, np.inf)]
            )
            quantiles.append(np.quantile(padded, [alpha, 0.5, 1 - alpha], method="linear"))
            counts.append(array.size)
            failed.append(n_bad)
        table = np.array(quantiles)
        if not np.all(np.isfinite(table)):
            raise DataError("too many failed fits: a belt quantile is infinite")
        table = np.maximum.accumulate(table, axis=0)
        if table[-1, 1] <= table[0, 1]:
            raise ConstraintError(
                "the median estimate does not increase over the grid: the estimator does not "
                "measure μ, and no belt can be inverted"
            )
        return cls(
            grid_array,
            table[:, 0],
            table[:, 1],
            table[:, 2],
            float(cl),
            np.array(counts),
            np.array(failed),
        )

    def _invert(
        self, curve: np.ndarray, values: np.ndarray, plateau: str = "middle"
    ) -> tuple[np.ndarray, np.ndarray]:
        """The μ where the (non-decreasing) interpolated curve reaches each of ``values``.

        Returns the μ values and their sides: −1 below the curve's range (μ set to the
        grid's first point), +1 above it (its last), 0 inside. Where the curve is flat at a
        value (an estimator piled up at a boundary, or a discrete one), ``plateau`` picks
        the plateau's ``first``, ``last`` or ``middle`` μ.
        """
        dense = np.linspace(self.grid[0], self.grid[-1], _DENSE)
        levels = np.interp(dense, self.grid, curve)
        # The first and last dense points where the curve crosses.
        first = np.searchsorted(levels, values, side="left")
        last = np.searchsorted(levels, values, side="right")
        index = {
            "first": first,
            "last": np.maximum(last - 1, first),
            "middle": (first + last) // 2,
        }[plateau]
        mu = dense[np.clip(index, 0, _DENSE - 1)]
        side = np.where(values < levels[0], -1, np.where(values > levels[-1], 1, 0))
        mu = np.where(side < 0, self.grid[0], np.where(side > 0, self.grid[-1], mu))
        return mu, side

    def _endpoints(
        self, estimates: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """The lower and upper endpoints (with their sides) for finite estimates.

        The interval is every μ with low(μ) ≤ μ̂ ≤ high(μ): from the first μ whose upper
        quantile reaches μ̂ to the last whose lower quantile does (a plateau of a quantile
        at μ̂ belongs to the interval whole; its middle would under-cover).
        """
        return self._invert(self.high, estimates, "first"), self._invert(
            self.low, estimates, "last"
        )

    def bounds(self, estimates: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The endpoints of the intervals of many estimates at once, as :meth:`interval`'s.

        A non-finite estimate (a failed fit) gets NaN endpoints.

        Example:
            >>> belt = NeymanBelt.calibrate([0.0, 1.0, 2.0], [[-1, 0, 1], [0, 1, 2], [1, 2, 3]])
            >>> low, high = belt.bounds([1.0, np.nan])
            >>> low.round(2).tolist(), high.round(2).tolist()
            ([0.32, nan], [1.68, nan])
        """
        values = np.asarray(estimates, dtype=float).reshape(-1)
        finite = np.isfinite(values)
        (low, _), (high, _) = self._endpoints(np.where(finite, values, 0.0))
        return np.where(finite, low, np.nan), np.where(finite, high, np.nan)

    def interval(self, estimate: float, *, strict: bool = False) -> NeymanInterval:
        """The Neyman interval and bias-corrected estimate for an observed μ̂.

        Arguments:
            estimate: the observed μ̂ (NaN for a failed fit gives a NaN interval).
            strict: raise :class:`OutsideGridError` instead of flagging an interval that
                lies wholly outside the grid.

        Returns:
            A :class:`NeymanInterval`.
        """
        if not math.isfinite(estimate):
            return NeymanInterval(math.nan, math.nan, math.nan, estimate, False, False, False)
        (low, low_side), (high, high_side) = (
            (float(mu[0]), int(side[0])) for mu, side in self._endpoints(np.array([estimate]))
        )
        point = float(self._invert(self.median, np.array([estimate]))[0][0])
        outside = high_side < 0 or low_side > 0
        if outside and strict:
            raise OutsideGridError(
                f"μ̂ = {estimate:g} lies outside the calibrated belt (grid "
                f"{self.grid[0]:g}–{self.grid[-1]:g}): the interval would be an extrapolation; "
                "widen the grid of the Neyman construction"
            )
        return NeymanInterval(
            point, low, high, float(estimate), low_side < 0, high_side > 0, outside
        )

    def check_truth(self, mu: float) -> None:
        """Raise :class:`OutsideGridError` when a true μ lies outside the grid."""
        if not self.grid[0] <= mu <= self.grid[-1]:
            raise OutsideGridError(
                f"μ = {mu:g} is outside the grid {self.grid[0]:g}–{self.grid[-1]:g} of the "
                "Neyman construction; coverage there is not calibrated"
            )
