"""ABCD closure of two cuts on background: predicted over true yield in the signal region."""

import math
from dataclasses import dataclass
from typing import Any

from robusthep.audit._arrays import event_arrays
from robusthep.errors import DataError

__all__ = ["AbcdClosure", "abcd_closure"]


@dataclass(frozen=True)
class AbcdClosure:
    """Background yields in the four regions of two cuts and the ABCD closure.

    Regions: A = both pass (the signal region), B = first passes and second fails,
    C = first fails and second passes, D = both fail.

    Attributes:
        yields: weighted background yield in each region, keys "A" "B" "C" "D".
        errors: Poisson error √Σw² of each yield.
        predicted: N_B·N_C/N_D, the ABCD prediction of N_A.
        closure: N_B·N_C/(N_D·N_A); 1 for independent variables. Within 10% is good.
        closure_error: its error, the four yields taken as independent Poisson counts.
    """

    yields: dict[str, float]
    errors: dict[str, float]
    predicted: float
    closure: float
    closure_error: float


def abcd_closure(
    first: Any, second: Any, labels: Any, weights: Any = None, *, cuts: tuple[float, float]
) -> AbcdClosure:
    """The ABCD closure of the cuts ``first ≥ cuts[0]`` and ``second ≥ cuts[1]`` on the
    background events.

    Arguments:
        first: the first variable (a classifier output f).
        second: the second variable (g, or a physical variable).
        labels: 1 signal, 0 background; only background counts.
        weights: per-event weights, or None.
        cuts: the two thresholds.

    Returns:
        An :class:`AbcdClosure`. Raises DataError when a region holds no background.

    Example:
        >>> f = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1]
        >>> g = [0.8, 0.2, 0.2, 0.8, 0.8, 0.2, 0.2, 0.2]
        >>> result = abcd_closure(f, g, [0] * 8, cuts=(0.5, 0.5))
        >>> result.yields, result.closure
        ({'A': 1.0, 'B': 2.0, 'C': 2.0, 'D': 3.0}, 1.3333333333333333)
        >>> round(result.closure_error, 3)  # √(1/1 + 1/2 + 1/2 + 1/3) × 4/3
        2.037

    References:
        Kasieczka, Nachman, Schwartz, Shih, "ABCDisCo", arXiv:2007.14400.
    """
    cut_first, cut_second = cuts
    first, signal, weights, second = event_arrays(
        first, labels, weights, second=second, need_signal=False
    )
    background = ~signal
    passes_first, passes_second = first >= cut_first, second >= cut_second
    regions = {
        "A": passes_first & passes_second,
        "B": passes_first & ~passes_second,
        "C": ~passes_first & passes_second,
        "D": ~passes_first & ~passes_second,
    }
    yields, errors = {}, {}
    for name, region in regions.items():
        chosen = background & region
        yields[name] = float(weights[chosen].sum())
        errors[name] = float(math.sqrt((weights[chosen] ** 2).sum()))
        if not yields[name] > 0:
            raise DataError(
                f"region {name} holds no background weight with cuts {cuts}; move the cuts "
                "so that all four regions are populated"
            )
    predicted = yields["B"] * yields["C"] / yields["D"]
    closure = predicted / yields["A"]
    relative = math.sqrt(sum((errors[n] / yields[n]) ** 2 for n in regions))
    return AbcdClosure(
        yields=yields,
        errors=errors,
        predicted=predicted,
        closure=closure,
        closure_error=closure * relative,
    )
