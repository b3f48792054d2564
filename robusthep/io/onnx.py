"""Export to ONNX, and run an ONNX model like a torch module (for checks and audits)."""

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from robusthep.atomic import atomic_write_bytes
from robusthep.errors import DataError, MissingDependencyError, ModelFileError
from robusthep.nn import to_plain

__all__ = ["OnnxModel", "export_onnx"]


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    in_features: int,
    opset: int = 17,
) -> Path:
    """Write ``model`` as an ONNX graph with baked weights and a dynamic batch axis.

    The model is first exported with :func:`~robusthep.nn.to_plain`, so the graph holds
    plain matrix products and Max/Min (or sort) nodes: running it needs nothing of robusthep.
    The file is written atomically and checked with ``onnx.checker``.

    Arguments:
        model: the torch model.
        path: the ``.onnx`` file to write.
        in_features: the number of input features.
        opset: the ONNX opset version.

    Returns:
        The path written.

    Example:
        >>> import tempfile, torch
        >>> from robusthep.nn import lipschitz_mlp
        >>> net = lipschitz_mlp(3, hidden=(8,)).eval()
        >>> path = export_onnx(net, tempfile.mkdtemp() + "/net.onnx", in_features=3)
        >>> x = torch.randn(5, 3)
        >>> bool(torch.allclose(OnnxModel(path)(x), net(x), atol=1e-5))
        True
    """
    import onnx

    plain = to_plain(model)
    example = torch.zeros(2, in_features)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "model.onnx"
        # The TorchScript-based exporter warns that it is deprecated and emits TracerWarnings
        # for Python-level shape checks; the graph is verified by onnx.checker below and the
        # tests compare onnxruntime's outputs with torch's.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                plain,
                (example,),
                str(target),
                dynamo=False,
                input_names=["x"],
                output_names=["y"],
                dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                opset_version=opset,
            )
        data = target.read_bytes()
    onnx.checker.check_model(onnx.load_from_string(data))
    return atomic_write_bytes(path, data)


class OnnxModel:
    """An ONNX file run by onnxruntime, called like a torch module (tensor in, tensor out).

    Gradients do not flow through it; :func:`robusthep.audit.verify` audits it with
    gradient-free searches.

    Arguments:
        path: the ``.onnx`` file.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        try:
            import onnxruntime
        except ModuleNotFoundError as error:
            raise MissingDependencyError(
                "running ONNX models needs onnxruntime: pip install onnxruntime"
            ) from error
        try:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own unexported classes
            raise ModelFileError(f"onnxruntime cannot load {path}: {error}") from error
        inputs = self._session.get_inputs()
        self._input = inputs[0].name
        self.in_features = inputs[0].shape[-1]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(torch.as_tensor(x).detach().cpu().numpy(), dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.in_features:
            raise DataError(
                f"the ONNX model takes inputs of shape (batch, {self.in_features}), got "
                f"{tuple(array.shape)}"
            )
        (output,) = self._session.run(None, {self._input: array})
        return torch.from_numpy(output)
