"""CARL: calibrate a classifier's likelihood ratio with 1-D densities of its score."""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from robusthep.errors import ConfigError, DataError
from robusthep.infer.errors import CalibrationError

__all__ = [
    "HistogramCalibration",
    "IsotonicCalibration",
    "KdeCalibration",
    "RatioExpectation",
    "isotonic_regression",
    "ratio_expectation",
    "reliability_curve",
]


def _scores(name: str, values: ArrayLike) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if array.size == 0:
        raise DataError(f"{name} is empty: a calibration needs events of both hypotheses")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} holds NaN or infinite scores; drop or fix them first")
    return array


def _weights(name: str, weights: ArrayLike | None, size: int) -> np.ndarray:
    if weights is None:
        return np.ones(size)
    array = np.asarray(weights, dtype=float).reshape(-1)
    if array.shape != (size,):
        raise DataError(f"{name} has {array.size} weights for {size} scores")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or array.sum() <= 0:
        raise DataError(f"{name} must be finite, ≥ 0 and not all zero")
    return array


def _samples(
    numerator: ArrayLike,
    reference: ArrayLike,
    numerator_weights: ArrayLike | None,
    reference_weights: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Both hypotheses' scores and weights, checked: what every calibration's fit reads."""
    s0, s1 = _scores("numerator", numerator), _scores("reference", reference)
    w0 = _weights("numerator_weights", numerator_weights, s0.size)
    w1 = _weights("reference_weights", reference_weights, s1.size)
    return s0, s1, w0, w1


@dataclass(frozen=True)
class HistogramCalibration:
    r"""The calibrated log ratio log p̂(s|θ₀)/p̂(s|θ₁) from weighted histograms of a score.

    If s(x) is a monotonic function of the true ratio p(x|θ₀)/p(x|θ₁), the ratio of the
    1-D densities of s under the two hypotheses equals it exactly (CARL's theorem), whatever
    the classifier's own calibration. Here θ₀ is the numerator (label 1 in training) and θ₁
    the reference. A bin empty under either hypothesis would give a ratio of 0 or ∞:
    :meth:`fit` refuses it with :class:`CalibrationError` unless ``smoothing`` > 0, which
    adds that many pseudo-events (in units of the mean event weight) to every bin of both
    histograms before normalising.

    Attributes:
        edges: the bin edges of s.
        log_ratio_per_bin: log p̂₀ − log p̂₁ in each bin.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> numerator, reference = rng.normal(0.5, 1, 20_000), rng.normal(0, 1, 20_000)
        >>> calibration = HistogramCalibration.fit(numerator, reference, bins=10)
        >>> round(float(calibration.log_ratio(np.array([0.0]))[0]), 1)  # true: −0.125
        -0.1

    References:
        Cranmer, Pavez, Louppe, arXiv:1506.02169, section 3.
    """

    edges: np.ndarray
    log_ratio_per_bin: np.ndarray

    @classmethod
    def fit(
        cls,
        numerator: ArrayLike,
        reference: ArrayLike,
        *,
        bins: int = 20,
        numerator_weights: ArrayLike | None = None,
        reference_weights: ArrayLike | None = None,
        smoothing: float = 0.0,
    ) -> "HistogramCalibration":
        """Histogram the scores in ``bins`` equal-population bins of both samples together.

        Raises:
            CalibrationError: a bin holds no event of one hypothesis and ``smoothing`` = 0.
        """
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ConfigError(f"bins must be an integer ≥ 1, got {bins!r}")
        if not (math.isfinite(smoothing) and smoothing >= 0):
            raise ConfigError(f"smoothing must be a finite number ≥ 0, got {smoothing!r}")
        s0, s1, w0, w1 = _samples(numerator, reference, numerator_weights, reference_weights)
        inner = np.quantile(np.concatenate([s0, s1]), np.linspace(0, 1, bins + 1)[1:-1])
        edges = np.concatenate([[-np.inf], inner, [np.inf]])
        h0 = np.histogram(s0, edges, weights=w0)[0]
        h1 = np.histogram(s1, edges, weights=w1)[0]
        if smoothing == 0:
            for name, histogram in (("numerator", h0), ("reference", h1)):
                empty = np.flatnonzero(histogram <= 0)
                if empty.size:
                    low, high = edges[empty[0]], edges[empty[0] + 1]
                    raise CalibrationError(
                        f"bin {empty[0]} of the score, [{low:.4g}, {high:.4g}), holds no "
                        f"{name} event ({empty.size} empty bins of {bins}): its ratio would "
                        "be 0 or infinite; use fewer bins, more events, or smoothing > 0"
                    )
        h0 = h0 + smoothing * w0.mean()
        h1 = h1 + smoothing * w1.mean()
        log_ratio = np.log(h0 / h0.sum()) - np.log(h1 / h1.sum())
        return cls(edges, log_ratio)

    def log_ratio(self, scores: ArrayLike) -> np.ndarray:
        """The calibrated log ratio at each score."""
        s = _scores("scores", scores)
        index = np.clip(np.searchsorted(self.edges, s, side="right") - 1, 0, len(self.edges) - 2)
        return self.log_ratio_per_bin[index]


def isotonic_regression(x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None) -> tuple:
    """The non-decreasing step function of x closest to y in weighted least squares (PAV).

    Returns:
        ``(x_sorted, fitted)``: the sorted inputs and the fitted value at each.

    Example:
        >>> isotonic_regression([1, 2, 3, 4], [1.0, 3.0, 2.0, 4.0])[1].tolist()
        [1.0, 2.5, 2.5, 4.0]
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    # Pool adjacent violators: blocks of (mean, weight, length), merged while decreasing.
    means, totals, lengths = [], [], []
    for value, weight in zip(y, w, strict=True):
        means.append(value)
        totals.append(weight)
        lengths.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            weight = totals[-2] + totals[-1]
            mean = (means[-2] * totals[-2] + means[-1] * totals[-1]) / weight if weight else 0.0
            length = lengths[-2] + lengths[-1]
            del means[-1], totals[-1], lengths[-1]
            means[-1], totals[-1], lengths[-1] = mean, weight, length
    return x, np.repeat(means, lengths)


@dataclass(frozen=True)
class IsotonicCalibration:
    r"""The calibrated log ratio from an isotonic regression of the label on the score.

    The probability c(s) that an event of score s belongs to the numerator (each class
    weighted to the same total) is fitted as a non-decreasing function of s (pool adjacent
    violators), interpolated linearly between the fitted steps, and read as
    log r = log c − log(1 − c). c is clipped to [ε, 1 − ε] with ε = 1/(2n) (n the events
    of the smaller class): a ratio of exactly 0 or ∞ is never returned.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> numerator, reference = rng.normal(0.5, 1, 20_000), rng.normal(0, 1, 20_000)
        >>> calibration = IsotonicCalibration.fit(numerator, reference)
        >>> round(float(calibration.log_ratio(np.array([1.0]))[0]), 1)  # true: 0.375
        0.4

    References:
        Cranmer, Pavez, Louppe, arXiv:1506.02169; Zadrozny, Elkan, "Transforming classifier
        scores into accurate multiclass probability estimates", KDD 2002.
    """

    knots: np.ndarray
    probability: np.ndarray
    epsilon: float

    @classmethod
    def fit(
        cls,
        numerator: ArrayLike,
        reference: ArrayLike,
        *,
        numerator_weights: ArrayLike | None = None,
        reference_weights: ArrayLike | None = None,
    ) -> "IsotonicCalibration":
        """Fit c(s) on the scores of both hypotheses."""
        s0, s1, w0, w1 = _samples(numerator, reference, numerator_weights, reference_weights)
        x = np.concatenate([s0, s1])
        y = np.concatenate([np.ones(s0.size), np.zeros(s1.size)])
        w = np.concatenate([w0 / w0.sum(), w1 / w1.sum()])
        x_sorted, fitted = isotonic_regression(x, y, w)
        # One knot per distinct score: the mean of the fitted values there.
        knots, inverse = np.unique(x_sorted, return_inverse=True)
        probability = np.bincount(inverse, fitted) / np.bincount(inverse)
        return cls(knots, probability, 0.5 / min(s0.size, s1.size))

    def calibrated_probability(self, scores: ArrayLike) -> np.ndarray:
        """c(s), clipped to [ε, 1 − ε]."""
        s = _scores("scores", scores)
        c = np.interp(s, self.knots, self.probability)
        return np.clip(c, self.epsilon, 1 - self.epsilon)

    def log_ratio(self, scores: ArrayLike) -> np.ndarray:
        """The calibrated log ratio at each score."""
        c = self.calibrated_probability(scores)
        return np.log(c) - np.log1p(-c)


@dataclass(frozen=True)
class KdeCalibration:
    r"""The calibrated log ratio from Gaussian kernel density estimates of the score.

    log p̂₀(s) − log p̂₁(s) with one bandwidth for both hypotheses (Scott's rule on the
    pooled scores, times ``scale``), evaluated in log space (log-sum-exp), so far in the
    tails, where both densities underflow, the ratio stays finite: no NaN, no ∞. Smooth in
    s, it suits small calibration samples better than histograms or isotonic steps.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> numerator, reference = rng.normal(0.5, 1, 5_000), rng.normal(0, 1, 5_000)
        >>> calibration = KdeCalibration.fit(numerator, reference)
        >>> grid = np.linspace(-2, 2, 9)  # the true log ratio is 0.5 s − 0.125
        >>> float(np.abs(calibration.log_ratio(grid) - (0.5 * grid - 0.125)).mean()) < 0.15
        True
        >>> bool(np.isfinite(calibration.log_ratio(np.array([1e6]))[0]))
        True

    References:
        Cranmer, Pavez, Louppe, arXiv:1506.02169 (the calibration by density estimation of
        the score); Scott, "Multivariate Density Estimation" (1992).
    """

    numerator: np.ndarray
    reference: np.ndarray
    numerator_weights: np.ndarray
    reference_weights: np.ndarray
    bandwidth: float

    @classmethod
    def fit(
        cls,
        numerator: ArrayLike,
        reference: ArrayLike,
        *,
        numerator_weights: ArrayLike | None = None,
        reference_weights: ArrayLike | None = None,
        scale: float = 1.0,
    ) -> "KdeCalibration":
        """Keep the scores; the bandwidth is ``scale`` × Scott's rule of the pooled scores."""
        if not (math.isfinite(scale) and scale > 0):
            raise ConfigError(f"scale must be a finite number > 0, got {scale!r}")
        s0, s1, w0, w1 = _samples(numerator, reference, numerator_weights, reference_weights)
        pooled = np.concatenate([s0, s1])
        spread = float(np.std(pooled))
        if spread == 0:
            raise CalibrationError(
                "every score is the same: the classifier does not separate anything, and a "
                "density of its output cannot be estimated"
            )
        bandwidth = scale * spread * pooled.size ** (-1 / 5)
        return cls(s0, s1, w0 / w0.sum(), w1 / w1.sum(), bandwidth)

    def _log_density(self, s: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
        # Chunks of rows bound the (rows × centres) matrix to about 4 million entries.
        step = max(1, 4_000_000 // centres.size)
        out = np.empty(s.size)
        log_weights = np.log(weights)[None, :]
        for start in range(0, s.size, step):
            z = (s[start : start + step, None] - centres[None, :]) / self.bandwidth
            terms = -0.5 * z**2 + log_weights
            top = terms.max(axis=1, keepdims=True)
            out[start : start + step] = (top + np.log(np.exp(terms - top).sum(1, keepdims=True)))[
                :, 0
            ]
        return out

    def log_ratio(self, scores: ArrayLike) -> np.ndarray:
        """The calibrated log ratio at each score."""
        s = _scores("scores", scores)
        return self._log_density(s, self.numerator, self.numerator_weights) - self._log_density(
            s, self.reference, self.reference_weights
        )


def reliability_curve(
    probability: ArrayLike,
    labels: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    bins: int = 10,
) -> dict[str, np.ndarray]:
    """The reliability (calibration) curve: predicted probability vs observed frequency.

    Arguments:
        probability: the classifier's s in [0, 1].
        labels: 1 for the numerator hypothesis, 0 for the reference.
        weights: per-event weights (each class normalised to the same total is the setting
            in which s should equal the frequency).
        bins: equal-width bins of s; empty bins are left out.

    Returns:
        ``{"predicted", "observed", "weight"}``: per non-empty bin, the mean s, the weighted
        fraction of label 1, and the bin's total weight.

    Example:
        >>> curve = reliability_curve([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], bins=2)
        >>> curve["observed"].tolist()
        [0.0, 1.0]
    """
    s = _scores("probability", probability)
    if np.any((s < 0) | (s > 1)):
        raise DataError("probabilities must lie in [0, 1]")
    y = np.asarray(labels, dtype=float).reshape(-1)
    if y.shape != s.shape or not np.all((y == 0) | (y == 1)):
        raise DataError("labels must be 0 or 1, one per probability")
    w = _weights("weights", weights, s.size)
    index = np.clip((s * bins).astype(int), 0, bins - 1)
    total = np.bincount(index, w, bins)
    keep = total > 0
    predicted = np.bincount(index, w * s, bins)[keep] / total[keep]
    observed = np.bincount(index, w * y, bins)[keep] / total[keep]
    return {"predicted": predicted, "observed": observed, "weight": total[keep]}


@dataclass(frozen=True)
class RatioExpectation:
    """E[r] under the reference hypothesis with its standard error (should be 1).

    Attributes:
        mean: the weighted mean of r over reference events.
        error: its standard error (effective number of events).
        pull: (mean − 1)/error.
    """

    mean: float
    error: float
    pull: float


def ratio_expectation(log_ratio: ArrayLike, weights: ArrayLike | None = None) -> RatioExpectation:
    r"""Check E₁[r] = 1: the mean of r = p(x|θ₀)/p(x|θ₁) over held-out events of θ₁.

    ∫ p(x|θ₁) · p(x|θ₀)/p(x|θ₁) dx = 1 for any exact ratio, so a mean far from 1 (in units
    of its standard error) shows a miscalibrated or overfitted estimator. Use events not
    seen in training or calibration.

    Arguments:
        log_ratio: log r of each reference event.
        weights: their weights.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(0, 1, 100_000)  # reference N(0, 1), numerator N(0.5, 1)
        >>> check = ratio_expectation(0.5 * x - 0.125)
        >>> abs(check.mean - 1) < 3 * check.error
        True
    """
    values = np.asarray(log_ratio, dtype=float).reshape(-1)
    if values.size < 2:
        raise DataError("the ratio's expectation needs at least two events")
    if np.any(np.isnan(values)):
        raise DataError("log_ratio holds NaN values")
    w = _weights("weights", weights, values.size)
    r = np.exp(values)
    mean = float(np.sum(w * r) / w.sum())
    effective = w.sum() ** 2 / np.sum(w**2)
    variance = float(np.sum(w * (r - mean) ** 2) / w.sum())
    error = math.sqrt(variance / effective) if math.isfinite(variance) else math.inf
    pull = (mean - 1) / error if error > 0 else (0.0 if mean == 1 else math.inf)
    return RatioExpectation(mean, error, pull)
