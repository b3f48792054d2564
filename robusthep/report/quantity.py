"""Numbers with units: the convention every ``results.json`` follows."""

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from robusthep.errors import DataError

__all__ = ["DIMENSIONLESS", "check_results", "iter_quantities", "quantity"]

#: The unit of pure numbers (ratios, accuracies, fractions).
DIMENSIONLESS = "1"


def quantity(
    value: float | Sequence[float],
    unit: str,
    *,
    std: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A number (or a list of numbers, e.g. one per seed) with its unit, as results.json holds it.

    The convention: every number in ``results.json`` sits in an object
    ``{"value": ..., "unit": ...}``, optionally with ``"std"`` (the spread of the values it
    summarises) and other descriptive keys. ``unit`` is ``"1"`` for pure numbers
    (accuracies, fractions), ``"count"`` for counts, otherwise a physical or data unit
    (``"mpg^2"``, ``"GeV"``, ``"s"``).

    Arguments:
        value: a finite number or a list of them.
        unit: the unit, never empty.
        std: the standard deviation of what ``value`` averages, if it is a mean.
        extra: further JSON-serialisable keys, e.g. ``n=5`` or ``note="..."``.

    Returns:
        The dictionary to store.

    Example:
        >>> quantity(7.1234, "mpg^2", std=1.2, n=5)
        {'value': 7.1234, 'unit': 'mpg^2', 'std': 1.2, 'n': 5}
    """
    if not isinstance(unit, str) or not unit:
        raise DataError(f"a quantity needs a non-empty unit string, got {unit!r}")
    values = list(value) if isinstance(value, Sequence) else [value]
    for number in values:
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise DataError(f"a quantity's value must be numbers, got {number!r}")
        if not math.isfinite(number):
            raise DataError(f"a quantity's value must be finite, got {number!r} ({unit})")
    stored: dict[str, Any] = {
        "value": [_plain(v) for v in values] if isinstance(value, Sequence) else _plain(value),
        "unit": unit,
    }
    if std is not None:
        stored["std"] = _plain(std)
    stored.update(extra)
    return stored


def _plain(number: float) -> float | int:
    return number if isinstance(number, int) else float(number)


def iter_quantities(results: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every quantity in a results tree, with its dotted path.

    Arguments:
        results: nested dicts and lists, as stored in ``results.json``.
        path: the prefix of the paths yielded.

    Returns:
        An iterator of ``(path, quantity)`` pairs.

    Example:
        >>> tree = {"toy": {"rmse": quantity(0.1, "1")}, "notes": "text"}
        >>> [p for p, _ in iter_quantities(tree)]
        ['toy.rmse']
    """
    if isinstance(results, Mapping):
        if "value" in results and "unit" in results:
            yield path, dict(results)
            return
        for key, item in results.items():
            yield from iter_quantities(item, f"{path}.{key}" if path else str(key))
    elif isinstance(results, list | tuple):
        for index, item in enumerate(results):
            yield from iter_quantities(item, f"{path}[{index}]")


def check_results(results: Any, path: str = "") -> None:
    """Raise ``DataError`` if a number in ``results`` is not inside a quantity with a unit.

    Strings, booleans and ``None`` may stand anywhere (protocol notes, flags); numbers only
    inside ``{"value": ..., "unit": ...}`` objects, or as their descriptive keys.

    Arguments:
        results: nested dicts and lists.
        path: where ``results`` sits, for the message.

    Example:
        >>> check_results({"accuracy": quantity(0.98, "1")})
        >>> check_results({"accuracy": 0.98})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        robusthep.errors.DataError: results key 'accuracy' holds the bare number 0.98; ...
    """
    if isinstance(results, Mapping):
        if "value" in results and "unit" in results:
            return
        for key, item in results.items():
            check_results(item, f"{path}.{key}" if path else str(key))
    elif isinstance(results, list | tuple):
        for index, item in enumerate(results):
            check_results(item, f"{path}[{index}]")
    elif isinstance(results, int | float) and not isinstance(results, bool):
        raise DataError(
            f"results key {path!r} holds the bare number {results!r}; "
            "wrap it as quantity(value, unit)"
        )
