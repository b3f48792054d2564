"""Bootstrap error bars for any per-event metric, seeded."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robusthep.errors import ConfigError, DataError

__all__ = ["BootstrapResult", "bootstrap"]


@dataclass(frozen=True)
class BootstrapResult:
    """A metric on the sample and its spread over resamples.

    Attributes:
        value: the metric on the sample itself.
        error: the standard deviation over the resamples (finite ones).
        low: the 15.87% quantile of the resamples (a ±1σ interval's lower end).
        high: the 84.13% quantile.
        resamples: the number of resamples with a finite value.
    """

    value: float
    error: float
    low: float
    high: float
    resamples: int


def bootstrap(
    metric: Callable[..., float], *arrays: Any, resamples: int = 100, seed: int = 0
) -> BootstrapResult:
    """Resample the events with replacement and recompute ``metric(*arrays)``.

    Arguments:
        metric: a function of per-event arrays returning a number, e.g. ``background_rejection``.
        arrays: per-event arrays of one length (scores, labels, weights …); None passes through.
        resamples: the number of bootstrap samples.
        seed: the seed of the resampling (numpy's default generator).

    Returns:
        A :class:`BootstrapResult`. Resamples where the metric is infinite (e.g. R50 when no
        background passes) are left out of the spread and counted out of ``resamples``.

    Example:
        >>> values = np.arange(100.0)
        >>> result = bootstrap(np.mean, values, resamples=200, seed=1)
        >>> result.value, round(result.error, 1)  # σ/√n = 29/10
        (49.5, 2.9)
    """
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 2:
        raise ConfigError(f"resamples must be an integer ≥ 2, got {resamples!r}")
    columns = [None if a is None else np.asarray(a) for a in arrays]
    lengths = {len(a) for a in columns if a is not None}
    if len(lengths) != 1:
        raise DataError(f"bootstrap needs per-event arrays of one length, got lengths {lengths}")
    (rows,) = lengths
    generator = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        chosen = generator.integers(0, rows, rows)
        values.append(float(metric(*(None if a is None else a[chosen] for a in columns))))
    finite = np.asarray([v for v in values if np.isfinite(v)])
    value = float(metric(*columns))
    if finite.size < 2:
        return BootstrapResult(value, float("nan"), float("nan"), float("nan"), int(finite.size))
    low, high = np.quantile(finite, [0.1587, 0.8413])
    return BootstrapResult(value, float(finite.std(ddof=1)), float(low), float(high), finite.size)
