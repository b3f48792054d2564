"""Calibration of posteriors on a grid: expected coverage of HPD regions and SBC ranks."""

import numpy as np
from numpy.typing import ArrayLike

from robusthep.errors import DataError

__all__ = ["expected_coverage", "hpd_credibility", "marginal_cdf"]


def _normalised(log_posterior: ArrayLike) -> np.ndarray:
    values = np.asarray(log_posterior, dtype=float)
    if values.ndim < 2:
        raise DataError("log_posterior must have shape (tests, *grid)")
    if np.any(np.isnan(values)):
        raise DataError("log_posterior holds NaN values")
    flat = values.reshape(len(values), -1)
    top = flat.max(axis=1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise DataError("a posterior is −∞ (or +∞) everywhere on the grid")
    p = np.exp(flat - top)
    return (p / p.sum(axis=1, keepdims=True)).reshape(values.shape)


def hpd_credibility(log_posterior: ArrayLike, truth_index: ArrayLike) -> np.ndarray:
    """The credibility of the smallest highest-posterior-density region holding the truth.

    On a grid, α = Σ p_g over the grid points with p_g > p(truth), plus half of the points
    tied with it. If the posterior is calibrated, α is uniform on [0, 1] over tests drawn
    from the prior (so the expected coverage of every level equals the level).

    Arguments:
        log_posterior: (tests, *grid) unnormalised log posteriors on a grid.
        truth_index: (tests,) the flat grid index of each true θ.

    Example:
        >>> hpd_credibility(np.log([[0.1, 0.6, 0.3]]), [2]).round(3).tolist()
        [0.6]
    """
    p = _normalised(log_posterior).reshape(len(np.asarray(log_posterior)), -1)
    index = np.asarray(truth_index, dtype=int).reshape(-1)
    if index.shape != (len(p),) or np.any((index < 0) | (index >= p.shape[1])):
        raise DataError("truth_index needs one valid flat grid index per test")
    at_truth = p[np.arange(len(p)), index][:, None]
    above = np.where(p > at_truth, p, 0.0).sum(axis=1)
    tied = np.where(p == at_truth, p, 0.0).sum(axis=1)
    return above + 0.5 * (tied - at_truth[:, 0])


def expected_coverage(credibility: ArrayLike, levels: ArrayLike) -> np.ndarray:
    """The fraction of tests whose truth lies in the HPD region of each credibility level.

    Equal to the levels for a calibrated posterior; below them for an overconfident one.

    Example:
        >>> expected_coverage([0.1, 0.5, 0.9], [0.5, 1.0]).round(3).tolist()
        [0.667, 1.0]
    """
    alpha = np.asarray(credibility, dtype=float).reshape(-1)
    return np.array([float(np.mean(alpha <= level)) for level in np.asarray(levels, float)])


def marginal_cdf(log_posterior: ArrayLike, truth_index: ArrayLike, axis: int) -> np.ndarray:
    """The posterior CDF of one parameter at its true value (SBC's rank / N, continuous).

    For a calibrated posterior these values are uniform on [0, 1] over prior draws
    (simulation-based calibration); a ∪-shaped histogram means overconfident, ∩-shaped
    underconfident, a slope a bias.

    Arguments:
        log_posterior: (tests, *grid).
        truth_index: (tests, grid dims) the multi-index of each true θ.
        axis: which parameter (grid axis).

    Example:
        >>> marginal_cdf(np.log([[[0.25, 0.25], [0.25, 0.25]]]), [[1, 0]], axis=0).tolist()
        [0.75]

    References:
        Talts et al., "Validating Bayesian Inference Algorithms with Simulation-Based
        Calibration", arXiv:1804.06788.
    """
    p = _normalised(log_posterior)
    index = np.asarray(truth_index, dtype=int).reshape(len(p), -1)
    if index.shape[1] != p.ndim - 1 or not 0 <= axis < p.ndim - 1:
        raise DataError("truth_index needs one index per grid axis, and axis must be one")
    other = tuple(a + 1 for a in range(p.ndim - 1) if a != axis)
    marginal = p.sum(axis=other) if other else p
    cumulative = np.cumsum(marginal, axis=1)
    at = index[:, axis]
    rows = np.arange(len(p))
    # Half of the truth's own cell, as for a continuous parameter.
    return cumulative[rows, at] - 0.5 * marginal[rows, at]
