"""Coverage of intervals with binomial errors, and the HiggsML Uncertainty Challenge score."""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from robusthep.errors import DataError

__all__ = [
    "ONE_SIGMA",
    "Coverage",
    "WidthRatio",
    "chance_outside",
    "challenge_score",
    "coverage",
    "width_ratio",
]

ONE_SIGMA = 0.6827
"""The confidence level of a 68.27% (one-sigma) interval, as the challenge rounds it."""


@dataclass(frozen=True)
class Coverage:
    """How often intervals contained the truth.

    Attributes:
        fraction: covering intervals over all intervals (failed ones count as not covering).
        error: the binomial standard error ``sqrt(fraction (1 − fraction) / n)``.
        n: every interval, failed ones included.
        failed: intervals with a NaN endpoint (a fit that did not converge), counted in ``n``.
    """

    fraction: float
    error: float
    n: int
    failed: int

    def within(self, level: float = ONE_SIGMA, sigmas: float = 2.0) -> bool:
        """Whether ``fraction`` lies within ``sigmas`` binomial errors *of the level*.

        The error is that of the nominal level, ``sqrt(level (1 − level) / n)``, as the
        challenge's band, so a lucky 100% on few intervals does not pass.
        """
        return abs(self.fraction - level) <= sigmas * math.sqrt(level * (1 - level) / self.n)


def chance_outside(
    n: int,
    *,
    level: float = ONE_SIGMA,
    sigmas: float = 2.0,
    calibration: int | None = None,
) -> float:
    """The chance that exact intervals still *measure* a coverage outside ``level ± sigmas σ``.

    ``σ = sqrt(level (1 − level) / n)`` is the binomial error of :meth:`Coverage.within`.
    With intervals that cover exactly ``level``, the number covering out of ``n`` is
    binomial, and a cell lands outside the band by chance (4.6% for 2σ, large ``n``);
    over many cells (μ values × methods) some will. A Neyman belt calibrated on
    ``calibration`` pseudo-experiments per node is itself uncertain: its true coverage
    scatters about ``level`` with variance ``level (1 − level) / calibration`` (the
    central band between two empirical quantiles), which widens the spread of the
    measured coverage to ``σ · sqrt(1 + n / calibration)``; that scatter is included
    (averaged over a normal distribution of the true coverage by Gauss–Hermite).

    Arguments:
        n: intervals per cell.
        level: the nominal coverage.
        sigmas: the half-width of the band in binomial σ.
        calibration: pseudo-experiments per node of the belt, or None for exact intervals.

    Returns:
        The probability of a cell outside the band; times the number of cells, the
        number of such cells expected by chance.

    Example:
        >>> round(chance_outside(1000), 3), round(chance_outside(1000, calibration=1000), 3)
        (0.045, 0.156)
    """
    if n < 1 or (calibration is not None and calibration < 1):
        raise DataError(f"n = {n} and calibration = {calibration} must be ≥ 1")
    sigma = math.sqrt(level * (1 - level) / n)
    low = math.ceil(n * (level - sigmas * sigma) - 1e-9)  # fewest covering inside the band
    high = math.floor(n * (level + sigmas * sigma) + 1e-9)  # most covering inside the band
    if calibration is None:
        true_levels, weights = np.array([level]), np.array([1.0])
    else:
        nodes, weights = np.polynomial.hermite_e.hermegauss(40)
        true_levels = level + nodes * math.sqrt(level * (1 - level) / calibration)
        true_levels = np.clip(true_levels, 1e-12, 1 - 1e-12)
        weights = weights / weights.sum()
    inside = stats.binom.cdf(high, n, true_levels) - stats.binom.cdf(low - 1, n, true_levels)
    return float(1.0 - np.sum(weights * inside))


def _endpoints(low: ArrayLike, high: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, ...]:
    low_array = np.asarray(low, dtype=float).reshape(-1)
    high_array = np.asarray(high, dtype=float).reshape(-1)
    truth_array = np.broadcast_to(np.asarray(truth, dtype=float), low_array.shape)
    if low_array.shape != high_array.shape:
        raise DataError(f"low has {low_array.size} endpoints but high has {high_array.size}")
    if low_array.size == 0:
        raise DataError("no intervals given: coverage of an empty set is undefined")
    if not np.all(np.isfinite(truth_array)):
        raise DataError("the true values must be finite")
    return low_array, high_array, truth_array


def coverage(low: ArrayLike, high: ArrayLike, truth: ArrayLike) -> Coverage:
    """The fraction of intervals ``[low, high]`` that contain ``truth``, with its binomial error.

    An interval with a NaN endpoint (its fit failed) counts as *not* covering and is
    reported in ``failed``: a failure is never dropped from the denominator.

    Arguments:
        low, high: the endpoints, one per pseudo-experiment.
        truth: the true value, a scalar or one per pseudo-experiment.

    Returns:
        A :class:`Coverage`.

    Example:
        >>> c = coverage([0.5, 0.9, float("nan"), 1.2], [1.5, 1.1, 2.0, 1.4], 1.0)
        >>> c.fraction, c.failed, round(c.error, 3)
        (0.5, 1, 0.25)
    """
    low_array, high_array, truth_array = _endpoints(low, high, truth)
    failed = ~(np.isfinite(low_array) & np.isfinite(high_array))
    covered = ~failed & (low_array <= truth_array) & (truth_array <= high_array)
    n = low_array.size
    fraction = float(covered.mean())
    return Coverage(fraction, math.sqrt(fraction * (1 - fraction) / n), n, int(failed.sum()))


def challenge_score(low: ArrayLike, high: ArrayLike, truth: ArrayLike) -> dict[str, float]:
    """The FAIR Universe HiggsML Uncertainty Challenge score of a set of intervals.

    With ``w`` the mean width, ``c`` the coverage and ``σ₆₈ = sqrt(0.6827 · 0.3173 / N)``:
    ``f(c) = 1`` inside ``0.6827 ± 2σ₆₈``, ``1 + |Δ/σ₆₈|⁴`` below and ``1 + |Δ/σ₆₈|³`` above,
    ``Δ`` measured from the nearer edge of that band; ``score = −ln((w + 0.001) f(c))``,
    higher is better. A failed interval (NaN endpoint) does not cover; its width is not
    defined, so ``w`` is the mean over finite intervals.

    Arguments:
        low, high: the endpoints, one per pseudo-experiment.
        truth: the true μ, a scalar or one per pseudo-experiment.

    Returns:
        ``{"score", "width", "coverage", "penalty", "sigma68"}``.

    Example:
        >>> s = challenge_score([0.5, 0.5, 0.5, 1.5], [1.5, 1.5, 1.5, 2.5], 1.0)
        >>> round(s["score"], 4), s["coverage"], s["penalty"]
        (-0.001, 0.75, 1.0)

    References:
        FAIR Universe HiggsML Uncertainty Challenge, arXiv:2410.02867.
    """
    low_array, high_array, truth_array = _endpoints(low, high, truth)
    n = low_array.size
    result = coverage(low_array, high_array, truth_array)
    finite = np.isfinite(low_array) & np.isfinite(high_array)
    width = float(np.mean(high_array[finite] - low_array[finite])) if finite.any() else math.inf
    sigma = math.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n)
    below, above = ONE_SIGMA - 2 * sigma, ONE_SIGMA + 2 * sigma
    c = result.fraction
    if c < below:
        penalty = 1 + abs((c - below) / sigma) ** 4
    elif c > above:
        penalty = 1 + abs((c - above) / sigma) ** 3
    else:
        penalty = 1.0
    return {
        "score": -math.log((width + 0.001) * penalty),
        "width": width,
        "coverage": c,
        "penalty": penalty,
        "sigma68": sigma,
    }


@dataclass(frozen=True)
class WidthRatio:
    """The ratio of two methods' mean interval widths on the same pseudo-experiments.

    Attributes:
        ratio: mean width of the method over mean width of the reference.
        error: its standard error from the pseudo-experiments (paired: the spread the two
            share cancels).
        n: pseudo-experiments where both intervals are finite.
        excluded: pseudo-experiments left out because either interval failed (NaN).
    """

    ratio: float
    error: float
    n: int
    excluded: int


def width_ratio(widths: ArrayLike, reference: ArrayLike) -> WidthRatio:
    """How much narrower (ratio < 1) one method's intervals are than a reference's.

    Both methods measured the *same* pseudo-experiments, so the comparison is paired:
    with ``R = mean(w) / mean(w_ref)``, the delta method gives the standard error
    ``std(w − R w_ref) / (sqrt(n) mean(w_ref))``, far below that of two independent means
    when the widths move together (a pseudo-experiment with more events gives both a
    narrower interval). Pairs where either width is not finite (a failed fit) are
    excluded and counted; they count against coverage elsewhere (:func:`coverage`).
    The error is the pseudo-experiments' only: the noise of a Neyman belt, common to all
    of its intervals, is not in it.

    Arguments:
        widths: the method's interval widths, one per pseudo-experiment.
        reference: the reference method's widths on the same pseudo-experiments.

    Returns:
        A :class:`WidthRatio`.

    Raises:
        DataError: arrays of different lengths, fewer than two finite pairs, or a
            reference whose mean width is not positive.

    Example:
        >>> r = width_ratio([0.9, 1.8, 2.7, float("nan")], [1.0, 2.0, 3.0, 1.0])
        >>> round(r.ratio, 3), round(r.error, 3), r.n, r.excluded
        (0.9, 0.0, 3, 1)
    """
    w = np.asarray(widths, dtype=float).reshape(-1)
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if w.shape != ref.shape:
        raise DataError(f"{w.size} widths against {ref.size} reference widths: pair them")
    both = np.isfinite(w) & np.isfinite(ref)
    n = int(both.sum())
    if n < 2:
        raise DataError(f"{n} pseudo-experiments with both widths finite: need ≥ 2")
    w, ref = w[both], ref[both]
    if ref.mean() <= 0:
        raise DataError(f"the reference's mean width is {ref.mean():g}: must be positive")
    ratio = float(w.mean() / ref.mean())
    error = float(np.std(w - ratio * ref, ddof=1) / (math.sqrt(n) * ref.mean()))
    return WidthRatio(ratio, error, n, int(both.size - n))
