"""Scores of a trained model on a table: :func:`predict`."""

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from robusthep.data.table import Table
from robusthep.user.model_folder import ModelFolder

__all__ = ["predict"]


def predict(
    model_dir: str | os.PathLike | ModelFolder,
    data: str | os.PathLike | Table | Mapping[str, Any] | np.ndarray,
    *,
    tree: str | None = None,
) -> np.ndarray:
    """The model's output for every row of ``data``: a probability for a classifier, the
    predicted target (in its units) for a regressor.

    Arguments:
        model_dir: a folder written by :func:`~robusthep.user.train_model`.
        data: a file or dataset folder (see :func:`~robusthep.data.read_table`), a
            :class:`~robusthep.data.table.Table`, a mapping column → values, or an
            (N, features) matrix in the model's
            feature order.
        tree: the TTree of a ROOT file holding several.

    Returns:
        One float64 value per row.

    Raises:
        DataError: a feature column missing from ``data`` (the columns there are are
            listed), not numeric, or holding NaN (how many and where).
        ModelFileError: a folder that is not a readable model.

    Example:
        >>> import tempfile, numpy as np
        >>> from robusthep.user import TrainConfig, train_model
        >>> rng = np.random.default_rng(0)
        >>> table = {"pt": rng.normal(size=200), "label": (rng.random(200) < 0.5) * 1.0}
        >>> config = TrainConfig.create(target="label", features=["pt"], hidden=(8,),
        ...                             epochs=2, audit_pairs=16, audit_steps=1)
        >>> model = train_model(table, config, tempfile.mkdtemp(), report=False)
        >>> scores = predict(model.path, np.array([[0.0], [1.0]]))
        >>> scores.shape, bool(((scores > 0) & (scores < 1)).all())
        ((2,), True)
    """
    folder = model_dir if isinstance(model_dir, ModelFolder) else ModelFolder(model_dir)
    if isinstance(data, np.ndarray):
        return folder.outputs(data)
    return folder.outputs(folder.inputs(data, tree=tree))
