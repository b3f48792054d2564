"""The Auto MPG table (UCI), read from the copy inside the `vega_datasets` wheel."""

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from robusthep.errors import MissingDependencyError

__all__ = ["AUTO_MPG_FEATURES", "AutoMPG", "load_auto_mpg"]

AUTO_MPG_FEATURES = (
    "cylinders",
    "displacement",
    "horsepower",
    "weight",
    "acceleration",
    "model_year",
    "origin",
)
_ORIGIN_CODES = {"USA": 1.0, "Europe": 2.0, "Japan": 3.0}


@dataclass(frozen=True)
class AutoMPG:
    """The Auto MPG regression table.

    Attributes:
        features: array (N, 7), columns in the order of ``feature_names``.
        target: array (N,), fuel economy in miles per gallon.
        feature_names: the seven column names.
        names: the car names.
    """

    features: np.ndarray
    target: np.ndarray
    feature_names: tuple[str, ...]
    names: tuple[str, ...]


def load_auto_mpg() -> AutoMPG:
    """Load the 392 complete rows of Auto MPG (rows without mpg or horsepower are dropped).

    The data come from the ``cars.json`` file shipped inside the ``vega_datasets`` wheel;
    nothing is downloaded. ``model_year`` is the two-digit year (70–82), ``origin`` is coded
    1 (USA), 2 (Europe), 3 (Japan) as in the UCI file.

    Returns:
        An :class:`AutoMPG` with 392 rows.

    Example:
        >>> table = load_auto_mpg()
        >>> table.features.shape, round(float(table.target.mean()), 2)
        ((392, 7), 23.45)

    References:
        Quinlan, "Combining instance-based and model-based learning", ICML 1993
        (UCI Machine Learning Repository, Auto MPG).
    """
    try:
        text = resources.files("vega_datasets").joinpath("_data", "cars.json").read_text()
    except ModuleNotFoundError as error:
        raise MissingDependencyError(
            "the Auto MPG table ships inside the 'vega_datasets' wheel: pip install vega_datasets"
        ) from error
    rows = [
        row
        for row in json.loads(text)
        if row["Miles_per_Gallon"] is not None and row["Horsepower"] is not None
    ]
    features = np.array(
        [
            [
                row["Cylinders"],
                row["Displacement"],
                row["Horsepower"],
                row["Weight_in_lbs"],
                row["Acceleration"],
                int(row["Year"][:4]) - 1900,
                _ORIGIN_CODES[row["Origin"]],
            ]
            for row in rows
        ],
        dtype=np.float64,
    )
    target = np.array([row["Miles_per_Gallon"] for row in rows], dtype=np.float64)
    return AutoMPG(
        features=features,
        target=target,
        feature_names=AUTO_MPG_FEATURES,
        names=tuple(row["Name"] for row in rows),
    )
