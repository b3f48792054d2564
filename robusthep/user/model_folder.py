"""The layout of a trained model's folder, and reading it back: :class:`ModelFolder`."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robusthep.data.table import Table, read_table
from robusthep.errors import DataError, ModelFileError
from robusthep.io import OnnxModel, load_model

__all__ = ["ModelFolder"]


@dataclass(frozen=True)
class ModelFolder:
    """A folder written by :func:`~robusthep.user.train_model`.

    It is a run folder (``results.json``, ``config.toml``, ``figures/``, ``report.html``)
    with the model in ``models/``: ``model/`` (safetensors + JSON, see
    :func:`~robusthep.io.save_model`) and ``model.onnx`` (the exported graph).

    Attributes:
        path: the folder.

    Example:
        >>> ModelFolder("runs/my-model").onnx
        PosixPath('runs/my-model/models/model.onnx')
    """

    path: Path

    def __init__(self, path: str | os.PathLike) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def weights(self) -> Path:
        """The saved model's folder (``model.json`` + ``model.safetensors``)."""
        return self.path / "models" / "model"

    @property
    def onnx(self) -> Path:
        """The ONNX export."""
        return self.path / "models" / "model.onnx"

    @cached_property
    def model(self) -> nn.Module:
        """The saved torch model, loaded (checksum and certified bound checked)."""
        if not self.weights.is_dir():
            raise ModelFileError(
                f"{self.path} is not a model folder of `robusthep train`: {self.weights} is missing"
            )
        return load_model(self.weights)

    @cached_property
    def onnx_model(self) -> OnnxModel:
        """The ONNX export, run by onnxruntime."""
        if not self.onnx.is_file():
            raise ModelFileError(f"{self.onnx} is missing: the export of {self.path} is gone")
        return OnnxModel(self.onnx)

    @property
    def metadata(self) -> dict[str, Any]:
        """What training recorded: task, target, features, monotonic signs, bound, domain."""
        return self.model.robusthep_metadata

    @property
    def features(self) -> list[str]:
        """The input columns, in order."""
        return list(self.metadata["features"])

    def inputs(
        self, data: str | os.PathLike | Table | Mapping[str, Any], *, tree: str | None = None
    ) -> np.ndarray:
        """The model's input matrix from a file, a table or a mapping column → values
        (features checked: present, numeric, finite)."""
        if isinstance(data, Mapping):
            data = Table.from_columns(data)
        table = data if isinstance(data, Table) else read_table(data, tree=tree)
        return table.numeric(self.features)

    def outputs(self, inputs: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """The torch model's outputs for an (N, features) matrix, as a float64 vector."""
        inputs = np.asarray(inputs, dtype=np.float32)
        if inputs.ndim != 2 or inputs.shape[1] != len(self.features):
            raise DataError(
                f"the model takes {len(self.features)} features ({', '.join(self.features)}), "
                f"got an array of shape {inputs.shape}"
            )
        parts = []
        with torch.no_grad():
            for start in range(0, len(inputs), batch_size):
                chunk = torch.from_numpy(inputs[start : start + batch_size])
                parts.append(self.model(chunk).reshape(-1).double().numpy())
        return np.concatenate(parts) if parts else np.empty(0)
