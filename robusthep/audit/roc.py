"""Weighted ROC curves, AUC, working points and background rejection (R50 …)."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from robusthep.audit._arrays import event_arrays
from robusthep.errors import ConfigError

__all__ = ["RocCurve", "auc", "background_rejection", "roc_curve", "threshold_at_efficiency"]


@dataclass(frozen=True)
class RocCurve:
    """A weighted ROC curve: one point per distinct score, cuts ``score ≥ threshold``.

    Attributes:
        thresholds: the cuts, decreasing.
        signal_efficiency: weighted signal fraction passing each cut (true positive rate).
        background_efficiency: weighted background fraction passing (false positive rate).
    """

    thresholds: np.ndarray
    signal_efficiency: np.ndarray
    background_efficiency: np.ndarray


def roc_curve(scores: Any, labels: Any, weights: Any = None) -> RocCurve:
    """The weighted ROC curve of a score (larger means more signal-like).

    Arguments:
        scores: per-event scores.
        labels: 1 signal, 0 background.
        weights: per-event weights ≥ 0, or None.

    Returns:
        A :class:`RocCurve`; events with equal scores fall on the same point.

    Example:
        >>> curve = roc_curve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [1, 1, 3, 1])
        >>> curve.signal_efficiency.tolist(), curve.background_efficiency.tolist()
        ([0.25, 0.25, 1.0, 1.0], [0.0, 0.5, 0.5, 1.0])
    """
    scores, signal, weights = event_arrays(scores, labels, weights)
    order = np.argsort(-scores, kind="stable")
    scores, signal, weights = scores[order], signal[order], weights[order]
    last_of_each = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    passing_signal = np.cumsum(weights * signal)[last_of_each]
    passing_background = np.cumsum(weights * ~signal)[last_of_each]
    return RocCurve(
        thresholds=scores[last_of_each],
        signal_efficiency=passing_signal / passing_signal[-1],
        background_efficiency=passing_background / passing_background[-1],
    )


def auc(scores: Any, labels: Any, weights: Any = None) -> float:
    """The weighted area under the ROC curve: P(signal score > background score) + ½P(=).

    Example:
        >>> auc([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [1, 1, 3, 1])
        0.625
    """
    curve = roc_curve(scores, labels, weights)
    x = np.r_[0.0, curve.background_efficiency]
    y = np.r_[0.0, curve.signal_efficiency]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def threshold_at_efficiency(
    scores: Any, labels: Any, weights: Any = None, *, efficiency: float = 0.5
) -> float:
    """The cut t whose selection ``score ≥ t`` first keeps at least ``efficiency`` of the
    weighted signal, scanning from the highest score down.

    Example:
        >>> threshold_at_efficiency([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [1, 1, 3, 1])
        0.3
    """
    _check_efficiency(efficiency)
    curve = roc_curve(scores, labels, weights)
    # A little slack so that 0.5 reached as 0.49999999 from sums of weights counts.
    index = int(np.argmax(curve.signal_efficiency >= efficiency - 1e-12))
    return float(curve.thresholds[index])


def background_rejection(
    scores: Any, labels: Any, weights: Any = None, *, efficiency: float = 0.5
) -> float:
    """R_ε = 1 / background efficiency at the cut of :func:`threshold_at_efficiency`.

    R50 is ``efficiency=0.5``. Infinite when no background passes.

    Example:
        >>> background_rejection([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [1, 1, 3, 1])
        2.0

    References:
        The convention of e.g. Kasieczka, Shih, arXiv:2001.05310.
    """
    _check_efficiency(efficiency)
    scores, signal, weights = event_arrays(scores, labels, weights)
    cut = threshold_at_efficiency(scores, signal, weights, efficiency=efficiency)
    background = ~signal
    passing = weights[background & (scores >= cut)].sum() / weights[background].sum()
    return float(np.inf) if passing == 0 else float(1 / passing)


def _check_efficiency(efficiency: float) -> None:
    if not 0 < efficiency <= 1:
        raise ConfigError(f"efficiency must be in (0, 1], got {efficiency!r}")
