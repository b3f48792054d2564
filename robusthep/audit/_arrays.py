"""Checks of the per-event arrays the audit metrics take."""

from typing import Any

import numpy as np

from robusthep.errors import DataError

__all__ = ["event_arrays"]


def event_arrays(
    scores: Any, labels: Any, weights: Any = None, *, need_signal: bool = True, **others: Any
) -> tuple[np.ndarray, ...]:
    """scores, labels (bool: signal), weights and any ``others`` as float arrays of one length.

    Raises DataError for NaN or infinite values, different lengths, labels other than 0/1,
    negative weights, or a class with no weight at all (signal only if ``need_signal``).
    """
    named = {"scores": scores, "labels": labels, "weights": weights, **others}
    arrays: dict[str, np.ndarray] = {}
    for name, value in named.items():
        if value is None:
            continue
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        array = np.asarray(value, dtype=np.float64).reshape(-1)
        bad = ~np.isfinite(array)
        if bad.any():
            raise DataError(
                f"{name} holds {int(np.isnan(array).sum())} NaN and "
                f"{int(bad.sum() - np.isnan(array).sum())} infinite values (of {array.size}), "
                f"the first at index {int(np.argmax(bad))}; drop or impute them first"
            )
        arrays[name] = array
    lengths = {name: array.size for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(
            f"the per-event arrays differ in length: {lengths}; give one entry an event"
        )
    if arrays["scores"].size == 0:
        raise DataError("no events: the arrays are empty")
    if "weights" not in arrays:
        arrays["weights"] = np.ones_like(arrays["scores"])
    weights = arrays["weights"]
    if (weights < 0).any():
        raise DataError(
            f"weights must be ≥ 0, got {weights[weights < 0][0]} at index "
            f"{int(np.argmax(weights < 0))}"
        )
    values = set(np.unique(arrays["labels"]).tolist())
    if not values <= {0.0, 1.0}:
        raise DataError(f"labels must be 0 (background) or 1 (signal), got {sorted(values)[:10]}")
    signal = arrays["labels"] == 1
    for name, mask in (("signal", signal), ("background", ~signal)):
        if name == "signal" and not need_signal:
            continue
        if not weights[mask].sum() > 0:
            raise DataError(
                f"the {name} events have no weight (there are {int(mask.sum())} of them, with "
                f"total weight {weights[mask].sum()}); both classes are needed"
            )
    ordered = [arrays["scores"], signal, weights]
    return (*ordered, *(arrays[name] for name in others))
