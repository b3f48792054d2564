"""The figures of merit of a mass-decorrelated tagger: AUC, R_ε and 1/JSD_ε with errors."""

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

from robusthep.audit._arrays import event_arrays
from robusthep.audit.bootstrap import bootstrap
from robusthep.audit.roc import auc, background_rejection
from robusthep.audit.sculpting import DEFAULT_MASS_BINS, inverse_jsd

__all__ = ["tagger_metrics"]


def tagger_metrics(
    scores: Any,
    labels: Any,
    mass: Any,
    weights: Any = None,
    *,
    efficiencies: Sequence[float] = (0.5,),
    bins: Any = DEFAULT_MASS_BINS,
    resamples: int = 0,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """AUC, and at each signal efficiency ε the rejection R_ε and 1/JSD_ε, as JSON-ready
    ``{"value", "error"}`` entries (keys ``auc``, ``R50``, ``inverse_jsd50`` …).

    Arguments:
        scores: per-event tagger scores.
        labels: 1 signal, 0 background.
        mass: the protected variable in GeV, binned with ``bins`` for the JSD.
        weights: per-event weights, or None.
        efficiencies: the working points, as signal efficiencies.
        bins: the mass bin edges (default 50 bins of 5 GeV over 50–300 GeV).
        resamples: bootstrap resamples for the errors; 0 leaves ``error`` at NaN.
        seed: the bootstrap seed.

    Returns:
        ``{name: {"value": v, "error": e}}``.

    Example:
        >>> generator = np.random.default_rng(0)
        >>> labels = generator.random(4000) < 0.5
        >>> signal_mass = generator.normal(80, 10, 4000)
        >>> mass = np.where(labels, signal_mass, generator.uniform(50, 300, 4000))
        >>> scores = -np.abs(mass - 80) + generator.normal(0, 5, 4000)  # a mass window
        >>> metrics = tagger_metrics(scores, labels, mass, resamples=20)
        >>> round(metrics["R50"]["value"]), metrics["inverse_jsd50"]["value"] < 2
        (19, True)
    """
    scores, signal, weights, mass = event_arrays(scores, labels, weights, mass=mass)
    metrics = {"auc": (_auc, ())}
    for efficiency in efficiencies:
        label = f"{round(100 * efficiency):d}"
        metrics[f"R{label}"] = (_rejection, (efficiency,))
        metrics[f"inverse_jsd{label}"] = (_inverse_jsd, (efficiency, bins))
    results = {}
    for name, (function, settings) in metrics.items():
        metric = functools.partial(_call, function, settings)
        if resamples:
            found = bootstrap(metric, scores, signal, weights, mass, resamples=resamples, seed=seed)
            results[name] = {"value": found.value, "error": found.error}
        else:
            results[name] = {"value": metric(scores, signal, weights, mass), "error": np.nan}
    return results


def _call(function: Any, settings: tuple, *arrays: Any) -> float:
    return function(*arrays, *settings)


def _rejection(scores: Any, signal: Any, weights: Any, mass: Any, efficiency: float) -> float:
    return background_rejection(scores, signal, weights, efficiency=efficiency)


def _inverse_jsd(
    scores: Any, signal: Any, weights: Any, mass: Any, efficiency: float, bins: Any
) -> float:
    return inverse_jsd(scores, signal, mass, weights, efficiency=efficiency, bins=bins)


def _auc(scores: Any, signal: Any, weights: Any, mass: Any) -> float:
    return auc(scores, signal, weights)
