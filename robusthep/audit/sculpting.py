"""Mass sculpting: background mass spectra passing and failing a cut, and their 1/JSD."""

from typing import Any

import numpy as np

from robusthep.audit._arrays import event_arrays
from robusthep.audit.roc import threshold_at_efficiency
from robusthep.errors import ConfigError, DataError

__all__ = ["DEFAULT_MASS_BINS", "inverse_jsd", "jensen_shannon_divergence", "sculpted_histograms"]

DEFAULT_MASS_BINS = np.linspace(50.0, 300.0, 51)
"""50 bins of 5 GeV from 50 to 300 GeV, the common choice for W/top tagging."""


def jensen_shannon_divergence(p: Any, q: Any) -> float:
    """JSD(P, Q) = ½ KL(P‖M) + ½ KL(Q‖M), M = (P + Q)/2, in bits (log base 2).

    Both histograms are normalised to unit sum first; 0·log 0 = 0. The result is in [0, 1].

    Example:
        >>> jensen_shannon_divergence([1, 0], [0, 1])
        1.0
        >>> round(jensen_shannon_divergence([3, 1], [1, 1]), 4)
        0.0488
    """
    p, q = (np.asarray(h, dtype=np.float64) for h in (p, q))
    if p.shape != q.shape:
        raise DataError(f"the histograms differ in shape: {p.shape} and {q.shape}")
    for name, h in (("p", p), ("q", q)):
        if not np.isfinite(h).all() or (h < 0).any() or not h.sum() > 0:
            raise DataError(f"histogram {name} must be finite, ≥ 0 and not empty, got {h}")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        used = a > 0
        return float(np.sum(a[used] * np.log2(a[used] / m[used])))

    return float(np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0))


def sculpted_histograms(
    scores: Any,
    labels: Any,
    mass: Any,
    weights: Any = None,
    *,
    efficiency: float = 0.5,
    bins: Any = DEFAULT_MASS_BINS,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted background mass histograms of the events passing and failing the cut that
    keeps ``efficiency`` of the signal, each normalised to unit sum.

    Events outside the bins are not counted. Raises DataError when either selection holds
    no background weight inside the bins.

    Example:
        >>> passing, failing = sculpted_histograms(
        ...     [0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [80, 82, 90, 140],
        ...     efficiency=1.0, bins=[50, 100, 150],
        ... )
        >>> passing.tolist(), failing.tolist()
        ([1.0, 0.0], [0.0, 1.0])
    """
    scores, signal, weights, mass = event_arrays(scores, labels, weights, mass=mass)
    edges = _edges(bins)
    cut = threshold_at_efficiency(scores, signal, weights, efficiency=efficiency)
    background = ~signal
    histograms = []
    for name, selection in (("passing", scores >= cut), ("failing", scores < cut)):
        chosen = background & selection
        counts, _ = np.histogram(mass[chosen], bins=edges, weights=weights[chosen])
        if not counts.sum() > 0:
            raise DataError(
                f"no background weight {name} the cut at {efficiency:.0%} signal efficiency "
                f"falls in the mass bins {edges[0]}–{edges[-1]}: 1/JSD is undefined"
            )
        histograms.append(counts / counts.sum())
    return histograms[0], histograms[1]


def inverse_jsd(scores: Any, labels: Any, mass: Any, weights: Any = None, **options: Any) -> float:
    """1/JSD between the background mass spectra passing and failing the cut at
    ``efficiency`` signal efficiency (1/JSD50 by default); larger is less sculpted, and
    infinite when the spectra are identical. ``options``: ``efficiency`` and ``bins`` of
    :func:`sculpted_histograms`.

    Example:
        >>> scores, labels = [0.9, 0.8, 0.6, 0.3, 0.1], [1, 0, 0, 1, 0]
        >>> mass = [80, 82, 140, 90, 140]  # passing background [½, ½], failing [0, 1]
        >>> round(inverse_jsd(scores, labels, mass, efficiency=1.0, bins=[50, 100, 150]), 4)
        3.2126

    References:
        Kasieczka, Shih, arXiv:2001.05310 (with these bins); Lin, "Divergence measures based
        on the Shannon entropy", IEEE Trans. Inf. Theory 37 (1991) 145.
    """
    passing, failing = sculpted_histograms(scores, labels, mass, weights, **options)
    divergence = jensen_shannon_divergence(passing, failing)
    return float(np.inf) if divergence == 0 else 1 / divergence


def _edges(bins: Any) -> np.ndarray:
    edges = np.asarray(bins, dtype=np.float64).reshape(-1)
    if edges.size < 2 or not np.isfinite(edges).all() or not (np.diff(edges) > 0).all():
        raise ConfigError(
            f"bins must be at least two finite, increasing edges, got {edges.tolist()[:10]}"
        )
    return edges
